//! Tasks waiting for a worker: one global service order (priority, fair share, arrival;
//! see `share.rs`), an order per label, the arrival order, and an index by deadline, all
//! kept in step so any task can be removed in O(log n).

use std::collections::{BTreeMap, BTreeSet};

use super::fxhash::FxHashMap;
use super::share::Rank;
use super::types::{LabelId, TaskKey, Time, WorkerKey};

#[derive(Debug, Clone)]
pub struct Waiting {
    /// Its place in the service order; a task put back after its worker was lost
    /// keeps it.
    pub rank: Rank,
    /// Its tenant's fair-share account.
    pub tenant: u32,
    pub label: LabelId,
    pub task_type: u16,
    pub enqueued_at: Time,
    pub deadline: Option<Time>,
    pub attempts: u32,
    /// Retries after failures (not counting lost attempts).
    pub retries: u32,
    /// The worker it last failed on: it runs elsewhere when it can.
    pub avoid: Option<WorkerKey>,
    /// The worker whose failure of it is not yet known to be the worker's own or the
    /// task's: a success elsewhere makes it the worker's, a failure elsewhere the task's.
    pub suspect: Option<WorkerKey>,
}

#[derive(Debug, Default)]
pub struct Queue {
    tasks: FxHashMap<TaskKey, Waiting>,
    order: BTreeMap<Rank, TaskKey>,
    by_label: FxHashMap<LabelId, BTreeMap<Rank, TaskKey>>,
    /// Arrival order (`Rank::seq`), for starvation: the longest waiting first.
    by_arrival: BTreeMap<u64, TaskKey>,
    /// Waiting tasks per priority band...
    bands: BTreeMap<std::cmp::Reverse<i32>, usize>,
    /// ...and per tenant.
    tenants: FxHashMap<u32, usize>,
    by_deadline: BTreeSet<(u64, TaskKey)>,
}

fn deadline_key(deadline: Time) -> u64 {
    (deadline.max(0.0) * 1e6) as u64
}

impl Queue {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn contains(&self, key: TaskKey) -> bool {
        self.tasks.contains_key(&key)
    }

    pub fn get(&self, key: TaskKey) -> Option<&Waiting> {
        self.tasks.get(&key)
    }

    pub fn push(&mut self, key: TaskKey, waiting: Waiting) {
        let rank = waiting.rank;
        self.order.insert(rank, key);
        self.by_label
            .entry(waiting.label)
            .or_default()
            .insert(rank, key);
        self.by_arrival.insert(rank.seq, key);
        *self.bands.entry(rank.band).or_default() += 1;
        *self.tenants.entry(waiting.tenant).or_default() += 1;
        if let Some(deadline) = waiting.deadline {
            self.by_deadline.insert((deadline_key(deadline), key));
        }
        self.tasks.insert(key, waiting);
    }

    pub fn remove(&mut self, key: TaskKey) -> Option<Waiting> {
        let waiting = self.tasks.remove(&key)?;
        let rank = waiting.rank;
        self.order.remove(&rank);
        self.by_arrival.remove(&rank.seq);
        if let Some(count) = self.bands.get_mut(&rank.band) {
            *count -= 1;
            if *count == 0 {
                self.bands.remove(&rank.band);
            }
        }
        if let Some(count) = self.tenants.get_mut(&waiting.tenant) {
            *count -= 1;
            if *count == 0 {
                self.tenants.remove(&waiting.tenant);
            }
        }
        if let Some(per_label) = self.by_label.get_mut(&waiting.label) {
            per_label.remove(&rank);
            if per_label.is_empty() {
                self.by_label.remove(&waiting.label);
            }
        }
        if let Some(deadline) = waiting.deadline {
            self.by_deadline.remove(&(deadline_key(deadline), key));
        }
        Some(waiting)
    }

    /// Tasks waiting for `label`.
    pub fn count(&self, label: LabelId) -> usize {
        self.by_label.get(&label).map_or(0, BTreeMap::len)
    }

    /// Tasks waiting for `label` that are served before `rank`, counting at most `cap`.
    pub fn count_before(&self, label: LabelId, rank: Rank, cap: usize) -> usize {
        self.by_label
            .get(&label)
            .map_or(0, |m| m.range(..rank).take(cap).count())
    }

    /// The first task waiting for `label`.
    pub fn head(&self, label: LabelId) -> Option<(TaskKey, &Waiting)> {
        let (_, key) = self.by_label.get(&label)?.first_key_value()?;
        Some((*key, &self.tasks[key]))
    }

    /// Waiting tasks in the order they are served.
    pub fn ordered(&self) -> impl Iterator<Item = (TaskKey, &Waiting)> {
        self.order.values().map(|key| (*key, &self.tasks[key]))
    }

    /// Waiting tasks, the longest waiting first.
    pub fn by_arrival(&self) -> impl Iterator<Item = (TaskKey, &Waiting)> {
        self.by_arrival.values().map(|key| (*key, &self.tasks[key]))
    }

    /// Whether tasks of more than one priority wait.
    pub fn has_bands(&self) -> bool {
        self.bands.len() > 1
    }

    /// Whether tasks of more than one tenant wait (else the service order is arrival's).
    pub fn is_mixed(&self) -> bool {
        self.tenants.len() > 1
    }

    /// Removes and returns every task whose deadline is at or before `now`.
    pub fn take_expired(&mut self, now: Time) -> Vec<TaskKey> {
        let limit = deadline_key(now);
        let expired: Vec<TaskKey> = self
            .by_deadline
            .iter()
            .take_while(|(d, _)| *d <= limit)
            .map(|(_, key)| *key)
            .collect();
        for key in &expired {
            self.remove(*key);
        }
        expired
    }

    pub fn keys(&self) -> impl Iterator<Item = TaskKey> + '_ {
        self.tasks.keys().copied()
    }
}
