//! smart-routing: a model-aware task router for pools of ML inference workers.
//!
//! - `routing` — the pure routing core: scheduler state and policies (no IO, no clock).
//! - `actors` — dispatcher, label registry, worker sessions, log sink (actix).
//! - `app` — what every transport shares: services, authorization, submit and wait, model installs.
//! - `http` — the HTTP API and the worker WebSocket endpoint (actix-web).
//! - `protocol` — the worker protocol's domain types and protobuf encoding.
//! - `tasks` — the dispatcher's table of tasks, results and timings.
//! - `clock` — wall-clock helpers (Unix milliseconds).
//! - `config` — settings: file < env < flags.
//! - `error_code` — every stable error code, with its HTTP status and gRPC code.
//! - `telemetry` — log output and the optional OTLP span export.
//! - `server` — starts the actors and the HTTP listener.
//! - `worker` — the remote worker client (`smart-routing worker`).
//! - `sim`, `workload`, `report` — the simulator, the benchmark workload and its report.
//! - `bench` — the live load generator (`smart-routing bench`).
//! - `metrics` — Prometheus metrics and the dashboard's windows (plain data).
//! - `oip` — the Open Inference Protocol (KServe v2 / Triton) over the dispatcher.
//! - `engine` — ONNX models with ort: loading, tokenizing, embedding, batching.
//! - `repository` — the model repository on disk: label folders, listing, atomic installs.

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
pub mod worker;
pub mod workload;
