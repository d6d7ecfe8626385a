//! The dispatcher's task table: every task's status, result and timings, from
//! submission until its retention runs out. Plain data; the dispatcher actor owns it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use crate::routing::TaskKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

/// A worker's result: JSON text checked once to be one valid JSON value (without building
/// a tree of it), and written into responses as it is.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

impl RawJson {
    /// Checks `text` is JSON; reuses its allocation when it has no surrounding whitespace.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(RawJson)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// An error as clients see it: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// From submission to the start of its last attempt on a worker.
    pub queue_ms: u64,
    pub load_ms: u64,
    pub run_ms: u64,
    /// From submission to the final result.
    pub total_ms: u64,
}

/// A task as `GET /tasks/{id}` and `/run-task` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    pub task_id: String,
    pub status: Status,
    pub label: String,
    pub task_type: String,
    pub worker: Option<String>,
    pub label_miss: bool,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<RawJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    pub timings: Timings,
}

pub struct TaskRecord {
    pub key: TaskKey,
    pub view: TaskView,
    pub parameters_json: String,
    pub deadline: Option<Instant>,
    pub submitted: Instant,
    pub started: Option<Instant>,
    pub finished: Option<Instant>,
    /// Clients waiting on `/run-task` for the final view.
    pub waiters: Vec<oneshot::Sender<TaskView>>,
}

/// Tasks by id, with finished ones kept for `retention` and at most `max_finished`.
pub struct TaskTable {
    by_id: HashMap<String, TaskRecord>,
    id_of: HashMap<TaskKey, String>,
    finished: VecDeque<(Instant, String, TaskKey)>,
    retention: Duration,
    max_finished: usize,
    next_key: u64,
    /// Tasks finished since start, by final status.
    totals: FinishedTotals,
}

/// How many tasks ended each way since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishedTotals {
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl TaskTable {
    pub fn new(retention: Duration, max_finished: usize) -> Self {
        Self {
            by_id: HashMap::new(),
            id_of: HashMap::new(),
            finished: VecDeque::new(),
            retention,
            max_finished,
            next_key: 0,
            totals: FinishedTotals::default(),
        }
    }

    pub fn get(&self, task_id: &str) -> Option<&TaskRecord> {
        self.by_id.get(task_id)
    }

    pub fn get_key(&self, key: TaskKey) -> Option<&TaskRecord> {
        self.by_id.get(self.id_of.get(&key)?)
    }

    pub fn get_key_mut(&mut self, key: TaskKey) -> Option<&mut TaskRecord> {
        self.by_id.get_mut(self.id_of.get(&key)?)
    }

    pub fn key_of(&self, task_id: &str) -> Option<TaskKey> {
        self.by_id.get(task_id).map(|r| r.key)
    }

    /// A key no live task uses.
    pub fn next_key(&mut self) -> TaskKey {
        self.next_key += 1;
        TaskKey(self.next_key)
    }

    /// Adds a task, replacing a finished one with the same id.
    pub fn insert(&mut self, record: TaskRecord) {
        if let Some(old) = self.by_id.remove(&record.view.task_id) {
            self.id_of.remove(&old.key);
        }
        self.id_of.insert(record.key, record.view.task_id.clone());
        self.by_id.insert(record.view.task_id.clone(), record);
    }

    /// Removes a task that was never accepted.
    pub fn remove(&mut self, key: TaskKey) {
        if let Some(id) = self.id_of.remove(&key) {
            self.by_id.remove(&id);
        }
    }

    /// Marks the task final, answers its waiters and schedules it for retention.
    pub fn finish(
        &mut self,
        key: TaskKey,
        now: Instant,
        finish: impl FnOnce(&mut TaskView),
    ) -> Option<TaskView> {
        let record = self.get_key_mut(key)?;
        if record.view.status.is_final() {
            return None;
        }
        finish(&mut record.view);
        record.finished = Some(now);
        record.view.timings.total_ms = now.duration_since(record.submitted).as_millis() as u64;
        let view = record.view.clone();
        for waiter in record.waiters.drain(..) {
            let _ = waiter.send(view.clone()); // a waiter that went away needs no answer
        }
        match view.status {
            Status::Completed => self.totals.completed += 1,
            Status::Failed => self.totals.failed += 1,
            Status::Cancelled => self.totals.cancelled += 1,
            Status::Queued | Status::Running => {} // `finish` always sets a final status
        }
        self.finished.push_back((now, view.task_id.clone(), key));
        self.prune(now);
        Some(view)
    }

    /// Drops finished tasks past their retention or beyond the count bound.
    pub fn prune(&mut self, now: Instant) {
        while let Some((at, id, key)) = self.finished.front() {
            let expired = now.duration_since(*at) > self.retention;
            if !expired && self.finished.len() <= self.max_finished {
                break;
            }
            // Only drop the record if it is still this finished task (the id may have been reused).
            if self.by_id.get(id).is_some_and(|r| r.key == *key) {
                self.by_id.remove(id);
            }
            self.id_of.remove(key);
            self.finished.pop_front();
        }
    }

    pub fn totals(&self) -> FinishedTotals {
        self.totals
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
