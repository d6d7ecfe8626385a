//! Messages shared by several actors, named in the receiver's terms.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::protocol::{Registration, TaskReport, WorkerCommand};
use crate::tasks::TaskView;

/// A task as submitted over HTTP, already validated.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub task_id: String,
    pub task_type: String,
    pub label: String,
    pub parameters_json: String,
    /// Relative deadline from submission.
    pub deadline: Option<Duration>,
    /// The tenant whose token submitted it.
    pub tenant: std::sync::Arc<str>,
}

/// Why a submission was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubmitError {
    #[error("task '{0}' is already queued or running")]
    Duplicate(String),
    #[error("no connected worker accepts task type '{0}'")]
    NoCapableWorker(String),
    #[error("the task queue is full ({0} tasks); retry later")]
    QueueFull(usize),
    #[error("tenant '{tenant}' has {limit} tasks queued or running, its max_in_flight; retry when one ends")]
    TenantLimit { tenant: String, limit: usize },
    #[error("the server is shutting down; retry on its replacement")]
    ShuttingDown,
    #[error("no connected worker can load label '{0}'")]
    UnknownLabel(String),
    #[error(
        "the task cannot finish within its deadline of {deadline_ms} ms: the current \
         estimate is {estimate_ms} ms (queue, load and run)"
    )]
    DeadlineUnmeetable { estimate_ms: u64, deadline_ms: u64 },
}

/// The dispatcher accepted a task.
#[derive(Debug)]
pub struct Submitted {
    pub view: TaskView,
    /// The final view, when the submitter asked to wait.
    pub done: Option<oneshot::Receiver<TaskView>>,
    /// The chunks as they come, when the submitter asked to stream.
    pub chunks: Option<crate::tasks::stream::ChunkStream>,
}

/// Submit a task to the dispatcher.
#[derive(Message)]
#[rtype(result = "Result<Submitted, SubmitError>")]
pub struct SubmitTask {
    pub task: NewTask,
    /// Return a receiver for the final result (`/run-task`).
    pub wait: bool,
    /// Also a stream of the task's chunks (`/run-task` with SSE; implies `wait`).
    pub stream: bool,
}

/// Read one task's current view.
#[derive(Message)]
#[rtype(result = "Option<TaskView>")]
pub struct GetTask {
    pub task_id: String,
    /// Only a task of this tenant is found (`None`: any).
    pub tenant: Option<std::sync::Arc<str>>,
}

/// Cancel a task (client request or a `/run-task` client that went away).
#[derive(Message)]
#[rtype(result = "Option<TaskView>")]
pub struct CancelTask {
    pub task_id: String,
    /// Only a task of this tenant is found (`None`: any).
    pub tenant: Option<std::sync::Arc<str>>,
}

/// A command for one worker, remote or local.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Dispatch(pub WorkerCommand);

/// Why a worker could not join.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JoinError {
    #[error("worker id '{0}' is already connected")]
    Duplicate(String),
    #[error(
        "too many distinct task types across connected workers (64 at most, freed \
         worker_grace_s after their workers leave)"
    )]
    TooManyTaskTypes,
}

/// A worker registered; `conn` tells its connection apart from any other with its id.
#[derive(Message)]
#[rtype(result = "Result<(), JoinError>")]
pub struct WorkerJoined {
    pub conn: u64,
    pub registration: Registration,
    pub commands: Recipient<Dispatch>,
    /// An in-process worker sharing the server's model repository: models uploaded
    /// to it become loadable there at once.
    pub local: bool,
}

/// A worker's connection ended (closed, broken, or silent too long).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WorkerLeft {
    pub conn: u64,
    pub worker_id: String,
    pub reason: String,
}

/// A worker reports a task's result; an error means it was never given that task.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct TaskFinished {
    pub conn: u64,
    pub worker_id: String,
    pub report: TaskReport,
}

/// A worker sent a chunk of a running task's output.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TaskChunked {
    pub conn: u64,
    pub worker_id: String,
    pub chunk: crate::protocol::Chunk,
}

/// A worker finished loading a label.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LabelLoaded {
    pub conn: u64,
    pub worker_id: String,
    pub label: String,
}

/// A worker dropped a label.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LabelEvicted {
    pub conn: u64,
    pub worker_id: String,
    pub label: String,
}

/// Where a label stands on one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Loading,
    Loaded,
    Evicted,
}

/// The dispatcher moved a label (registry read side).
#[derive(Message)]
#[rtype(result = "()")]
pub struct LabelPlaced {
    pub worker_id: String,
    pub label: String,
    pub placement: Placement,
}

/// A worker is connected (registry read side).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WorkerConnected {
    pub worker_id: String,
    pub task_types: Vec<String>,
}

/// A worker is gone (registry read side).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WorkerDisconnected {
    pub worker_id: String,
}

/// A task finished on a label: per-label statistics.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LabelStatsRecorded {
    pub label: String,
    pub label_miss: bool,
    pub load_ms: u64,
    pub run_ms: u64,
}

/// The placement planner's target copies and demand per label (the dispatcher sends
/// them every second; labels missing have no plan).
#[derive(Message)]
#[rtype(result = "()")]
pub struct LabelsPlanned {
    /// `(label, target copies, demand in busy slot-seconds per second)`.
    pub labels: Vec<(String, u32, f64)>,
}

/// Labels present in the model repository (known even when not loaded).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RepositoryLabels {
    pub labels: Vec<String>,
}

/// Labels the dispatcher forgot (no holder, no task for a while): drop their state.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LabelsForgotten {
    pub labels: Vec<String>,
}

/// Connected worker ids, in order of joining.
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct ListWorkers;

/// Whether a worker with this id is connected.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct IsConnected {
    pub worker_id: String,
}

/// Whether a connected worker runs this task type.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct RunsTaskType {
    pub task_type: String,
}

/// Each known label and the workers holding or loading it.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, Vec<String>>")]
pub struct ListLabels;

/// Per-label statistics.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, crate::actors::registry::LabelStats>")]
pub struct GetLabelStats;

/// One JSONL record for the log sink.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Record(pub serde_json::Value);

/// The most recent records, newest last.
#[derive(Message)]
#[rtype(result = "Vec<serde_json::Value>")]
pub struct RecentRecords {
    pub limit: usize,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct DispatcherStats {
    pub queued: usize,
    pub running: usize,
    pub finished: crate::tasks::FinishedTotals,
    /// Tasks restored from the store still waiting for a capable worker.
    pub restored_waiting: usize,
}

/// Read the dispatcher's counters.
#[derive(Message)]
#[rtype(result = "DispatcherStats")]
pub struct GetStats;

/// Stop starting tasks and tell every worker to drain (idempotent); answers how many
/// tasks are still running on workers.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct BeginDrain;

/// The drain is over: let go of every waiting `/run-task` client (their tasks stay for
/// after the restart); answers how many there were.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct EndDrain;
/// A task reached a final status (registry read side: latency window).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TaskEnded {
    pub label: String,
    pub completed: bool,
    pub latency_s: f64,
}

/// The dispatcher's view of the pool for the dashboard.
#[derive(Message)]
#[rtype(result = "crate::actors::board::PoolView")]
pub struct GetPool;

/// Each connected worker's health (`GET /workers/health`).
#[derive(Message)]
#[rtype(result = "crate::actors::board::WorkersHealth")]
pub struct GetWorkerHealth;

/// The registry's per-worker labels and per-label figures for the dashboard.
#[derive(Message)]
#[rtype(result = "crate::actors::board::LabelBoard")]
pub struct GetLabelBoard;
