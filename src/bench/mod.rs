//! `smart-routing bench`: the live load generator. Closed-loop producers send
//! `POST /run-task` to a running dispatcher with the same producer model as `simulate`,
//! and the answers become the same report (`crate::report`); with `--rate`, open-loop
//! Poisson arrivals and latency quantiles from each intended send time (`open_loop`); with
//! `--stream N`, streaming tasks and their chunks' latencies (`stream`).
//!
//! Talks HTTP or HTTPS (rustls, `tls`) with reqwest on whatever tokio runtime calls it;
//! must not depend on the server's own modules (it is written against the HTTP contract
//! only).

mod args;
mod client;
mod open_loop;
mod run;
mod stream;

pub use args::BenchArgs;
pub use client::{RunTaskRequest, RunTaskResponse, TaskReply, Timings};
pub use open_loop::{Arrivals, OpenLoopReport, Quantiles};
pub use run::{run, BenchError};
