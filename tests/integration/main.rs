//! Integration tests: the real binary on loopback, real workers, real WebSocket frames.

mod common;
mod http_api;
mod models;
mod onnx;
mod reliability;
mod replay;
mod worker_protocol;
