//! `smart-routing simulate`: the real routing core ([`crate::routing::Scheduler`]) driven
//! in virtual time by simulated workers and producers, so every policy can be compared on
//! the same workload in milliseconds.
//!
//! Must not depend on actix, tokio, a clock or the network; the only IO is reading the
//! trace (or event log) and config files and writing the plot and CSV files named on the
//! command line.

mod arrivals;
mod bound;
mod cli;
mod copies;
mod engine;
mod events;
mod plot;
mod replay;
mod scenario;
mod settings;
mod sweep;
mod tenants;
mod trace;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tenants;
#[cfg(test)]
mod tests_tuning;

pub use bound::{loads_lower_bound, LoadBound};
pub use cli::{parse_policies, report, run, SimError, SimulateArgs};
pub use engine::{simulate, simulate_logged, LabelMove, Logged};
pub use plot::{Plot, Point, Series};
pub use replay::{is_event_log, parse_event_log};
pub use scenario::{Arrivals, Broken, Misbehaviour, Scenario};
pub use sweep::Sweep;
pub use trace::{parse_trace, TraceEntry, TraceError};
