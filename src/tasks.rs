//! The dispatcher's task table: every task's status, result and timings, from
//! submission until its retention runs out. Plain data; the dispatcher actor owns it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::error_code::ErrorCode;
use crate::routing::TaskKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Timings {
    /// From submission to the start of its last attempt on a worker.
    pub queue_ms: u64,
    pub load_ms: u64,
    pub run_ms: u64,
    /// From submission to the final result.
    pub total_ms: u64,
}

/// A task as `GET /tasks/{id}` and `/run-task` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskView {
    pub task_id: String,
    pub status: Status,
    pub label: String,
    pub task_type: String,
    pub worker: Option<String>,
    pub label_miss: bool,
    pub attempts: u32,
    /// The worker's result (any JSON), once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
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

/// What runs on each final view (see [`TaskTable::on_final`]).
type FinalHook = Box<dyn FnMut(&TaskView)>;

/// Tasks by id, with finished ones kept for `retention` and at most `max_finished`.
pub struct TaskTable {
    by_id: HashMap<String, TaskRecord>,
    id_of: HashMap<TaskKey, String>,
    finished: VecDeque<Retained>,
    retention: Duration,
    max_finished: usize,
    /// Bound on the bytes finished tasks hold (approximate, see [`view_bytes`]).
    max_bytes: usize,
    retained_bytes: usize,
    next_key: u64,
    /// Tasks finished since start, by final status.
    totals: FinishedTotals,
    /// Called with each final view before any waiter hears of it (the durable store).
    on_final: Option<FinalHook>,
}

/// A finished task waiting for its retention to run out.
struct Retained {
    at: Instant,
    task_id: String,
    key: TaskKey,
    bytes: usize,
}

/// Counts the bytes written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Roughly the memory a finished task holds: its view as JSON plus the record's fixed part.
fn view_bytes(view: &TaskView) -> usize {
    let mut count = ByteCount(0);
    // Writing to a counter cannot fail, nor can serializing this plain struct.
    let _ = serde_json::to_writer(&mut count, view);
    count.0 + 2 * view.task_id.len() + 256
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
            max_bytes: usize::MAX,
            retained_bytes: 0,
            next_key: 0,
            totals: FinishedTotals::default(),
            on_final: None,
        }
    }

    /// Sets what runs on every final view before its waiters are answered.
    pub fn on_final(&mut self, hook: impl FnMut(&TaskView) + 'static) {
        self.on_final = Some(Box::new(hook));
    }

    /// Adds a task that finished `age` ago (restored from the durable store).
    pub fn restore_finished(&mut self, mut record: TaskRecord, age: Duration) {
        let at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        record.parameters_json = String::new();
        let bytes = view_bytes(&record.view);
        let (task_id, key) = (record.view.task_id.clone(), record.key);
        self.insert(record);
        self.retained_bytes += bytes;
        self.finished.push_back(Retained {
            at,
            task_id,
            key,
            bytes,
        });
    }

    /// Bounds the bytes finished tasks hold.
    pub fn set_max_bytes(&mut self, max_bytes: usize) {
        self.max_bytes = max_bytes;
    }

    /// Approximate bytes held by finished tasks.
    pub fn retained_bytes(&self) -> usize {
        self.retained_bytes
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
        // Its result and view are what is read from now on.
        record.parameters_json = String::new();
        record.finished = Some(now);
        record.view.timings.total_ms = now.duration_since(record.submitted).as_millis() as u64;
        let view = record.view.clone();
        let waiters = std::mem::take(&mut record.waiters);
        if let Some(hook) = &mut self.on_final {
            hook(&view);
        }
        for waiter in waiters {
            let _ = waiter.send(view.clone()); // a waiter that went away needs no answer
        }
        match view.status {
            Status::Completed => self.totals.completed += 1,
            Status::Failed => self.totals.failed += 1,
            Status::Cancelled => self.totals.cancelled += 1,
            Status::Queued | Status::Running => {} // `finish` always sets a final status
        }
        let bytes = view_bytes(&view);
        self.retained_bytes += bytes;
        self.finished.push_back(Retained {
            at: now,
            task_id: view.task_id.clone(),
            key,
            bytes,
        });
        self.prune(now);
        Some(view)
    }

    /// Drops finished tasks past their retention or beyond the count or byte bound.
    pub fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.finished.front() {
            let expired = now.duration_since(oldest.at) > self.retention;
            if !expired
                && self.finished.len() <= self.max_finished
                && self.retained_bytes <= self.max_bytes
            {
                break;
            }
            // Only drop the record if it is still this finished task (the id may have been reused).
            if self
                .by_id
                .get(&oldest.task_id)
                .is_some_and(|r| r.key == oldest.key)
            {
                self.by_id.remove(&oldest.task_id);
            }
            self.id_of.remove(&oldest.key);
            self.retained_bytes -= oldest.bytes;
            self.finished.pop_front();
        }
    }

    /// Lets go of every waiting client without an answer (the server is stopping; the
    /// tasks stay as they are); returns how many there were.
    pub fn drop_waiters(&mut self) -> usize {
        self.by_id
            .values_mut()
            .map(|record| std::mem::take(&mut record.waiters).len())
            .sum()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(table: &mut TaskTable, id: &str, parameters: &str, now: Instant) -> TaskKey {
        let key = table.next_key();
        table.insert(TaskRecord {
            key,
            view: TaskView {
                task_id: id.to_owned(),
                status: Status::Running,
                label: "l".into(),
                task_type: "t".into(),
                worker: None,
                label_miss: false,
                attempts: 1,
                result: None,
                error: None,
                timings: Timings::default(),
            },
            parameters_json: parameters.to_owned(),
            deadline: None,
            submitted: now,
            started: None,
            finished: None,
            waiters: Vec::new(),
        });
        key
    }

    #[test]
    fn finished_tasks_drop_their_parameters_and_stay_within_the_byte_bound() {
        let now = Instant::now();
        let mut table = TaskTable::new(Duration::from_secs(3600), 1000);
        table.set_max_bytes(3 * 1024);
        let big = "x".repeat(1000);
        for i in 0..5 {
            let key = record(&mut table, &format!("t{i}"), &format!("\"{big}\""), now);
            table.finish(key, now, |view| {
                view.status = Status::Completed;
                view.result = RawJson::parse(format!("\"{big}\"")).ok();
            });
            let kept = table.get_key(key).expect("the newest task is kept");
            assert!(kept.parameters_json.is_empty());
            assert!(table.retained_bytes() <= 3 * 1024);
        }
        // Each holds about 1.3 KB: the oldest went, the newest stay.
        assert!(table.get("t0").is_none() && table.get("t2").is_none());
        assert!(table.get("t3").is_some() && table.get("t4").is_some());
    }
}
