//! smart-routing: a model-aware task router for pools of ML inference workers.
//!
//! Layers, each importing only those below it (`tests/integration/layers.rs` checks):
//! - the leaves: `routing` (the pure routing core: scheduler state and policies, no IO,
//!   no clock), `clock` (Unix milliseconds), `error_code` (every stable error code with
//!   its HTTP status and gRPC code), `repository` (the model repository on disk),
//!   `protocol` (the worker protocol's domain types and protobuf encoding), `workload`
//!   and `report` (the benchmark workload and its report), `tls` (rustls configs from
//!   PEM files, for the server and its clients);
//! - plain data: `tasks` (the task table, owner of every status change), `store` (the
//!   durable store), `metrics` (Prometheus and the dashboard's windows), `config`
//!   (settings, each declared once: file < env < flags), `engine` (ONNX models with ort);
//! - `worker` (the remote worker client) and `actors` (dispatcher, registry, worker
//!   sessions, local workers, log sink);
//! - `app`: what every transport shares (services, authorization, submit and wait,
//!   model installs, `ApiError`);
//! - the transports, never importing each other: `http` (the HTTP API and the worker
//!   WebSocket) and `oip` (the Open Inference Protocol over REST and gRPC);
//! - the roots: `server` (composes everything and starts it), `cli`, `telemetry`,
//!   `shutdown`; beside them `sim` (the simulator) and `bench` (the load generator).

pub mod actors;
pub mod app;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error_code;
pub mod http;
pub mod metrics;
pub mod oip;
pub mod protocol;
pub mod report;
pub mod repository;
pub mod routing;
pub mod server;
pub mod shutdown;
pub mod sim;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod tls;
pub mod worker;
pub mod workload;
