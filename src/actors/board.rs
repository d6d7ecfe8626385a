//! What the dashboard and `GET /workers/health` read: each worker's slots and labels, the queue's recent depth,
//! per-label counts and latency percentiles. Plain data the dispatcher and the registry
//! answer with; `GET /dashboard/state` joins them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::metrics::series::QueueSample;
use crate::metrics::window::Percentiles;

/// One connected worker as the dispatcher sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerLoad {
    pub worker_id: String,
    /// `local` (in-process ONNX worker) or `remote` (WebSocket).
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub slots: u32,
    pub busy: usize,
    /// `healthy`, `ejected` or `probing` (see `GET /workers/health`).
    #[schema(value_type = String)]
    pub state: &'static str,
}

/// One connected worker's health: whether it serves, and why not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerHealthRow {
    pub worker_id: String,
    /// `healthy`; `ejected` (its failures stood out: no tasks, no preloads); `probing`
    /// (its ejection time is up: one task at a time until one succeeds).
    #[schema(value_type = String)]
    pub state: &'static str,
    /// Times it was ejected since it connected.
    pub ejections: u32,
    /// Its own failures in a row.
    pub consecutive_failures: u32,
    /// The share of its own failures among its recent results (null with too few).
    pub failure_rate: Option<f64>,
    /// Seconds until it is probed, while ejected.
    pub probe_in_s: Option<f64>,
    /// Labels it is not given after failing to load them, with the seconds left.
    pub load_backoff: Vec<LabelBackoff>,
}

/// A label a worker is not given for a while after failing to load it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelBackoff {
    pub label: String,
    pub seconds_left: f64,
}

/// `GET /workers/health`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkersHealth {
    pub workers: Vec<WorkerHealthRow>,
}

/// A health state's name, as the API shows it.
pub fn health_name(state: crate::routing::HealthState) -> &'static str {
    use crate::routing::HealthState;
    match state {
        HealthState::Healthy => "healthy",
        HealthState::Ejected => "ejected",
        HealthState::Probing => "probing",
    }
}

/// The dispatcher's part of the dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolView {
    pub workers: Vec<WorkerLoad>,
    pub queued: usize,
    pub running: usize,
    /// Queue depth sampled once a second, oldest first.
    pub history: Vec<QueueSample>,
}

/// One label's counts since start and latency over the last minute.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelRow {
    pub label: String,
    pub requests: u64,
    pub misses: u64,
    /// Share of requests that found the label loaded; null before the first.
    pub hit_rate: Option<f64>,
    /// End-to-end latency of tasks completed in the last minute, in seconds.
    pub latency: Option<LatencyPercentiles>,
    /// Workers holding or loading it now.
    pub copies: u32,
    /// Copies the placement planner wants (0: none planned).
    pub target_copies: u32,
    /// Busy slot-seconds per second its recent tasks bring.
    pub demand: f64,
}

/// p50/p95/p99 in seconds over `count` tasks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LatencyPercentiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl From<Percentiles> for LatencyPercentiles {
    fn from(p: Percentiles) -> Self {
        Self {
            count: p.count,
            p50: p.p50,
            p95: p.p95,
            p99: p.p99,
        }
    }
}

/// Labels a worker holds, by state.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WorkerLabels {
    pub loaded: Vec<String>,
    pub loading: Vec<String>,
}

/// The registry's part of the dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelBoard {
    pub workers: std::collections::BTreeMap<String, WorkerLabels>,
    pub labels: Vec<LabelRow>,
    /// Distinct labels loaded or loading on at least one worker.
    pub labels_placed: usize,
}
