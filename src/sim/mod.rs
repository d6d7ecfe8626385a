//! `smart-routing simulate`: the real routing core ([`crate::routing::Scheduler`]) driven
//! in virtual time by simulated workers and producers, so every policy can be compared on
//! the same workload in milliseconds.
//!
//! Must not depend on actix, tokio, a clock or the network; the only IO is reading a
//! trace file named on the command line.

mod cli;
mod engine;
mod events;
mod scenario;
mod trace;

#[cfg(test)]
mod tests;

pub use cli::{parse_policies, report, run, SimError, SimulateArgs};
pub use engine::simulate;
pub use scenario::{Arrivals, Broken, Scenario};
pub use trace::{parse_trace, TraceEntry, TraceError};
