//! Tasks waiting for a worker: one global arrival order, an order per label, and an
//! index by deadline, all kept in step so any task can be removed in O(log n).

use std::collections::{BTreeMap, BTreeSet};

use super::fxhash::FxHashMap;
use super::types::{LabelId, TaskKey, Time, WorkerKey};

#[derive(Debug, Clone)]
pub struct Waiting {
    /// Arrival order; a task put back after its worker was lost keeps its place.
    pub seq: u64,
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
    order: BTreeMap<u64, TaskKey>,
    by_label: FxHashMap<LabelId, BTreeMap<u64, TaskKey>>,
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
        self.order.insert(waiting.seq, key);
        self.by_label
            .entry(waiting.label)
            .or_default()
            .insert(waiting.seq, key);
        if let Some(deadline) = waiting.deadline {
            self.by_deadline.insert((deadline_key(deadline), key));
        }
        self.tasks.insert(key, waiting);
    }

    pub fn remove(&mut self, key: TaskKey) -> Option<Waiting> {
        let waiting = self.tasks.remove(&key)?;
        self.order.remove(&waiting.seq);
        if let Some(per_label) = self.by_label.get_mut(&waiting.label) {
            per_label.remove(&waiting.seq);
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

    /// Tasks waiting for `label` that arrived before `seq`, counting at most `cap`.
    pub fn count_before(&self, label: LabelId, seq: u64, cap: usize) -> usize {
        self.by_label
            .get(&label)
            .map_or(0, |m| m.range(..seq).take(cap).count())
    }

    /// The oldest task waiting for `label`.
    pub fn head(&self, label: LabelId) -> Option<(TaskKey, &Waiting)> {
        let (_, key) = self.by_label.get(&label)?.first_key_value()?;
        Some((*key, &self.tasks[key]))
    }

    /// Waiting tasks, oldest first.
    pub fn oldest(&self) -> impl Iterator<Item = (TaskKey, &Waiting)> {
        self.order.values().map(|key| (*key, &self.tasks[key]))
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
