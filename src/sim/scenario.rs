//! What a simulation runs: the workers, where requests come from, the time scale and
//! the routing knobs; and how a run can go wrong.

use super::trace::TraceEntry;
use crate::routing::RoutingConfig;
use crate::workload::ProducerModel;

/// Where requests come from.
#[derive(Debug, Clone)]
pub enum Arrivals {
    /// `producers` producers share `requests`: each sends one, waits for its result,
    /// thinks, and sends the next.
    Closed {
        requests: usize,
        producers: usize,
        model: ProducerModel,
    },
    /// Requests at fixed times, whatever the results.
    Trace(Vec<TraceEntry>),
}

/// Everything a simulation needs besides the policy and the seed. Durations unscaled.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub workers: u32,
    pub max_labels: u32,
    pub slots: u32,
    /// Whether the pool's shape came, at least in part, from a replayed event log.
    pub pool_from_log: bool,
    /// What the workers accept (simulated types only).
    pub task_types: Vec<String>,
    pub arrivals: Arrivals,
    /// Multiplies every simulated duration; results are divided by it.
    pub time_scale: f64,
    /// Seconds (unscaled) between the scheduler's periodic ticks.
    pub tick_s: f64,
    /// The routing knobs, in unscaled seconds.
    pub routing: RoutingConfig,
}

/// A simulation that went wrong: the routing core broke a rule the workers rely on, or
/// stopped making progress.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at t={at:.3}s: {message}")]
pub struct Broken {
    pub at: f64,
    pub message: String,
}
