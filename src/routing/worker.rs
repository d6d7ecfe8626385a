//! What the scheduler knows of each worker (its slots, labels and preload) and of each
//! running task.

use super::queue::Waiting;
use super::types::{LabelId, TaskKey, Time, WorkerKey};

#[derive(Debug, Clone)]
pub(super) struct Held {
    pub label: LabelId,
    pub loaded: bool,
    /// When the load started (or the worker joined holding it).
    pub since: Time,
    pub last_used: Time,
    pub in_flight: u32,
}

#[derive(Debug)]
pub(super) struct Worker {
    pub slots: u32,
    pub max_labels: u32,
    pub types: u64,
    pub running: Vec<TaskKey>,
    /// Tasks taken from it (deadline, run-time limit) that it has not reported yet:
    /// each keeps its slot busy until the worker's result arrives.
    pub abandoned: Vec<TaskKey>,
    pub labels: Vec<Held>,
    /// A label it loads ahead of demand, taking one slot until it is loaded.
    pub preload: Option<LabelId>,
    /// Since when it has had nothing to do (meaningful while it has nothing to do).
    pub idle_since: Time,
}

impl Worker {
    pub fn free_slots(&self) -> u32 {
        let busy =
            (self.running.len() + self.abandoned.len()) as u32 + u32::from(self.preload.is_some());
        self.slots.saturating_sub(busy)
    }

    /// Whether it can take one more label without giving one up.
    pub fn has_spare(&self) -> bool {
        self.labels.len() < self.max_labels as usize
    }

    pub fn held(&self, label: LabelId) -> Option<&Held> {
        self.labels.iter().find(|h| h.label == label)
    }

    pub fn accepts(&self, task_type: u16) -> bool {
        self.types & (1 << task_type) != 0
    }
}

#[derive(Debug, Clone)]
pub(super) struct Running {
    pub worker: WorkerKey,
    pub waiting: Waiting,
    pub load: bool,
    pub started: Time,
    pub expected_end: Time,
}
