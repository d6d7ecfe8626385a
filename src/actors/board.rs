//! What the dashboard reads: each worker's slots and labels, the queue's recent depth,
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
