//! Integration tests: the real binary on loopback, real workers, real WebSocket frames.

mod common;
mod event_log;
mod fuzz_regressions;
mod http_api;
mod http_edge;
mod models;
mod onnx;
mod reliability;
mod worker_protocol;
