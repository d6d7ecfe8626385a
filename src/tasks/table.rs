//! The dispatcher's task table: every task's status, result and timings, from
//! submission until its retention runs out. It owns every status change (`start`,
//! `requeue`, `finish`); the dispatcher actor owns the table.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::stream::{ChunkSink, Pushed};
use super::{ErrorBody, RawJson, Status, TaskView, Timings};
use crate::error_code::ErrorCode;
use crate::routing::TaskKey;

/// One task in the table. Its fields change only through the table's transitions
/// (`start`, `requeue`, `finish`), so its status has one owner.
pub struct TaskRecord {
    key: TaskKey,
    view: TaskView,
    parameters_json: String,
    deadline: Option<Instant>,
    submitted: Instant,
    /// Clients waiting on `/run-task` for the final view.
    waiters: Vec<oneshot::Sender<TaskView>>,
    /// A client taking the task's chunks as they come (`/run-task` with SSE).
    stream: Option<ChunkSink>,
    /// The next chunk sequence number expected of its worker, and chunks the client got.
    next_chunk: u64,
    streamed: u64,
}

/// A chunk a worker sent for a running task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSeen {
    /// Since submission, for the task's first chunk.
    pub first_after: Option<Duration>,
    /// What became of it on its way to a streaming client (`None`: nobody streams).
    pub pushed: Option<Pushed>,
}

/// What a new or restored task is: enough to run it.
pub struct NewRecord {
    pub task_id: String,
    pub task_type: String,
    pub label: String,
    pub tenant: String,
    pub parameters_json: String,
    pub deadline: Option<Instant>,
    pub submitted: Instant,
    /// Attempts already made (restored from the store), else 0.
    pub attempts: u32,
}

impl TaskRecord {
    /// A queued task.
    pub fn queued(key: TaskKey, task: NewRecord) -> Self {
        Self {
            key,
            view: TaskView {
                task_id: task.task_id,
                status: Status::Queued,
                label: task.label,
                task_type: task.task_type,
                tenant: task.tenant,
                worker: None,
                label_miss: false,
                attempts: task.attempts,
                result: None,
                error: None,
                timings: Timings::default(),
            },
            parameters_json: task.parameters_json,
            deadline: task.deadline,
            submitted: task.submitted,
            waiters: Vec::new(),
            stream: None,
            next_chunk: 0,
            streamed: 0,
        }
    }

    /// A task that was already final (restored from the store); `submitted` is when it
    /// finished, as far as this process can tell.
    pub fn finished(key: TaskKey, view: TaskView, submitted: Instant) -> Self {
        debug_assert!(view.status.is_final());
        Self {
            key,
            view,
            parameters_json: String::new(),
            deadline: None,
            submitted,
            waiters: Vec::new(),
            stream: None,
            next_chunk: 0,
            streamed: 0,
        }
    }

    /// A client that waits for the final view.
    pub fn with_waiter(mut self, waiter: oneshot::Sender<TaskView>) -> Self {
        self.waiters.push(waiter);
        self
    }

    /// A client that takes the chunks as they come.
    pub fn with_stream(mut self, sink: ChunkSink) -> Self {
        self.stream = Some(sink);
        self
    }

    /// Chunks its streaming client was sent; once any was, a lost attempt cannot be
    /// run again (what was sent cannot be taken back).
    pub fn streamed(&self) -> u64 {
        self.streamed
    }

    pub fn key(&self) -> TaskKey {
        self.key
    }

    pub fn view(&self) -> &TaskView {
        &self.view
    }

    /// The parameters the worker gets (empty once final).
    pub fn parameters_json(&self) -> &str {
        &self.parameters_json
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Its worker returned a result.
    Completed { result: RawJson, ran: Ran },
    /// Its worker reported a failure (`ran`), or the dispatcher gave up on it (`None`).
    Failed { error: ErrorBody, ran: Option<Ran> },
    /// A client cancelled it.
    Cancelled,
}

/// What the worker reported of the run that ended a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub label_miss: bool,
    pub load_ms: u64,
    pub run_ms: u64,
}

impl Ending {
    fn apply(self, view: &mut TaskView) {
        let ran = match self {
            Ending::Completed { result, ran } => {
                view.status = Status::Completed;
                view.result = Some(result);
                Some(ran)
            }
            Ending::Failed { error, ran } => {
                view.status = Status::Failed;
                view.error = Some(error);
                ran
            }
            Ending::Cancelled => {
                view.status = Status::Cancelled;
                view.error = Some(ErrorBody {
                    code: ErrorCode::Cancelled,
                    message: "the task was cancelled".into(),
                });
                None
            }
        };
        if let Some(ran) = ran {
            view.label_miss = ran.label_miss;
            view.timings.load_ms = ran.load_ms;
            view.timings.run_ms = ran.run_ms;
        }
    }
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
    /// Tasks queued or running, by tenant (tenants with none are absent).
    in_flight: HashMap<String, usize>,
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
            in_flight: HashMap::new(),
            on_final: None,
        }
    }

    /// Sets what runs on every final view before its waiters are answered.
    pub fn on_final(&mut self, hook: impl FnMut(&TaskView) + 'static) {
        self.on_final = Some(Box::new(hook));
    }

    /// Adds a task that finished `age` ago (restored from the durable store).
    pub fn restore_finished(&mut self, record: TaskRecord, age: Duration) {
        let at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
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

    fn get_key_mut(&mut self, key: TaskKey) -> Option<&mut TaskRecord> {
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

    /// Tasks of `tenant` queued or running.
    pub fn in_flight(&self, tenant: &str) -> usize {
        self.in_flight.get(tenant).copied().unwrap_or(0)
    }

    fn count_in_flight(&mut self, tenant: &str, up: bool) {
        if up {
            *self.in_flight.entry(tenant.to_owned()).or_default() += 1;
        } else if let Some(n) = self.in_flight.get_mut(tenant) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(tenant);
            }
        }
    }

    /// Adds a task, replacing a finished one with the same id.
    pub fn insert(&mut self, record: TaskRecord) {
        if let Some(old) = self.by_id.remove(&record.view.task_id) {
            self.id_of.remove(&old.key);
            if !old.view.status.is_final() {
                self.count_in_flight(&old.view.tenant, false);
            }
        }
        if !record.view.status.is_final() {
            self.count_in_flight(&record.view.tenant, true);
        }
        self.id_of.insert(record.key, record.view.task_id.clone());
        self.by_id.insert(record.view.task_id.clone(), record);
    }

    /// Removes a task that was never accepted.
    pub fn remove(&mut self, key: TaskKey) {
        if let Some(id) = self.id_of.remove(&key) {
            if let Some(old) = self.by_id.remove(&id) {
                if !old.view.status.is_final() {
                    self.count_in_flight(&old.view.tenant, false);
                }
            }
        }
    }

    /// The task starts an attempt on `worker_id`: running, one more attempt, its queue
    /// time measured. `None` for a task that is unknown or final.
    pub fn start(&mut self, key: TaskKey, worker_id: &str, now: Instant) -> Option<&TaskRecord> {
        let record = self
            .get_key_mut(key)
            .filter(|r| !r.view.status.is_final())?;
        record.view.status = Status::Running;
        record.next_chunk = 0;
        record.view.worker = Some(worker_id.to_owned());
        record.view.attempts += 1;
        record.view.timings.queue_ms = now.duration_since(record.submitted).as_millis() as u64;
        Some(record)
    }

    /// A chunk of a running task: passed to its streaming client, if it has one. `None`
    /// for a task not running or a chunk already seen (`seq` below the next expected).
    pub fn chunk(&mut self, key: TaskKey, seq: u64, chunk_json: &str) -> Option<ChunkSeen> {
        let record = self
            .get_key_mut(key)
            .filter(|r| r.view.status == Status::Running && seq >= r.next_chunk)?;
        let first_after = (record.next_chunk == 0 && seq == 0).then(|| record.submitted.elapsed());
        record.next_chunk = seq + 1;
        let pushed = record.stream.as_ref().map(|sink| sink.push(chunk_json));
        if pushed == Some(Pushed::Sent) {
            record.streamed += 1;
        }
        Some(ChunkSeen {
            first_after,
            pushed,
        })
    }

    /// The task's attempt ended without a result (its worker was lost, or it was taken off
    /// it): queued again, unless it is final already.
    pub fn requeue(&mut self, key: TaskKey) {
        if let Some(record) = self.get_key_mut(key) {
            if !record.view.status.is_final() {
                record.view.status = Status::Queued;
                record.view.worker = None;
            }
        }
    }

    /// Marks the task final, answers its waiters and schedules it for retention; `None`
    /// when it is unknown or final already.
    pub fn finish(&mut self, key: TaskKey, now: Instant, ending: Ending) -> Option<TaskView> {
        let record = self.get_key_mut(key)?;
        if record.view.status.is_final() {
            return None;
        }
        ending.apply(&mut record.view);
        let tenant = record.view.tenant.clone();
        // Its result and view are what is read from now on.
        record.parameters_json = String::new();
        record.view.timings.total_ms = now.duration_since(record.submitted).as_millis() as u64;
        let view = record.view.clone();
        let waiters = std::mem::take(&mut record.waiters);
        // The stream ends once its last chunk is taken; the result follows.
        record.stream = None;
        if let Some(hook) = &mut self.on_final {
            hook(&view);
        }
        self.count_in_flight(&tenant, false);
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
#[path = "tests.rs"]
mod tests;
