//! Integration tests: the real binary on loopback, real workers, real WebSocket frames.

mod bounds;
mod common;
mod http_api;
mod models;
mod onnx;
mod reliability;
mod worker_protocol;
