//! Integration tests: the real binary on loopback, real workers, real WebSocket frames.

mod cli_errors;
mod bounds;
mod common;
mod drain;
mod durability;
mod http_api;
mod models;
mod onnx;
mod reliability;
mod worker_protocol;
