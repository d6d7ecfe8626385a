//! Integration tests: the real binary on loopback, real workers, real WebSocket frames.

mod bounds;
mod cli_errors;
mod common;
mod drain;
mod durability;
mod event_log;
mod fuzz_regressions;
mod http_api;
mod http_edge;
mod layers;
mod models;
mod onnx;
mod open_loop;
mod placement;
mod reliability;
mod replay;
mod streaming;
mod tls;
mod trust;
mod worker_protocol;
