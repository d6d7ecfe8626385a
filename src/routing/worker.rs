//! What the scheduler knows of each worker (its slots, labels and preload) and of each
//! running task.

use super::health::WorkerHealth;
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
    /// Whether it serves: healthy, ejected or probed; its failures; its load backoffs.
    pub health: WorkerHealth,
}

impl Worker {
    /// Slots it can take work in now: none while ejected, one at a time while probed.
    pub fn free_slots(&self) -> u32 {
        let busy =
            (self.running.len() + self.abandoned.len()) as u32 + u32::from(self.preload.is_some());
        let free = self.slots.saturating_sub(busy);
        match self.health.gate() {
            super::health::Gate::Open => free,
            super::health::Gate::Closed => 0,
            super::health::Gate::One => u32::from(busy == 0).min(free),
        }
    }

    /// Whether it takes work at all now (not ejected).
    pub fn serving(&self) -> bool {
        self.health.gate() != super::health::Gate::Closed
    }

    /// Whether it may load `label` now (no backoff after a failed load of it).
    pub fn may_load(&self, label: LabelId, now: Time) -> bool {
        self.health.may_load(label, now)
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
