//! The values that cross the routing core's boundary: what comes in (specs, outcomes)
//! and what goes out (actions, label events, rejections).

pub use super::share::Share;

/// Seconds since an epoch chosen by the caller (the server's start, or virtual zero).
pub type Time = f64;

/// A task as the core knows it: a dense key chosen by the caller, never reused while the
/// task is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey(pub u64);

/// A worker as the core knows it: a dense key chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerKey(pub u32);

/// An interned label; [`crate::routing::Scheduler::label_name`] gives its name back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelId(pub u32);

/// A submitted task.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub key: TaskKey,
    pub label: String,
    pub task_type: String,
    /// Absolute deadline; a task still queued past it is expired.
    pub deadline: Option<Time>,
    /// Its tenant's priority and fair share.
    pub share: Share,
}

/// A worker that joined.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub key: WorkerKey,
    /// Concurrent tasks it runs.
    pub slots: u32,
    /// K: labels it can hold at once.
    pub max_labels: u32,
    pub task_types: Vec<String>,
    /// Labels it already holds when it joins (up to `max_labels` are kept).
    pub labels: Vec<String>,
}

/// What a worker reported for a task it ran.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Seconds it spent loading the label first, when it had to.
    pub load_s: Option<f64>,
    /// Seconds the task itself ran.
    pub run_s: f64,
}

/// Whose fault a failed attempt is, as its worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The worker does not say: the task's, the worker's, or nobody's; retrying it
    /// elsewhere tells.
    Ambiguous,
    /// The worker knows it is broken.
    Worker,
    /// The label could not be loaded on this worker; the task is not at fault.
    Load,
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The task waits to run again, on another worker.
    Retried,
    /// The task has failed (the caller reports the worker's error).
    Failed,
}

/// Whether a worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Healthy,
    /// Its failures stood out: no tasks, no preloads, until it is probed.
    Ejected,
    /// Its ejection time is up: it takes one task at a time until one succeeds.
    Probing,
}

/// A worker's health changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthEvent {
    pub worker: WorkerKey,
    pub state: HealthState,
    /// Times it was ejected so far.
    pub ejections: u32,
}

/// One worker's health as `GET /workers/health` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub worker: WorkerKey,
    pub state: HealthState,
    /// Times it was ejected since it joined.
    pub ejections: u32,
    /// Its own failures in a row.
    pub consecutive_failures: u32,
    /// The share of its own failures among its recent results that counted.
    pub failure_rate: Option<f64>,
    /// Seconds until it is probed, while ejected.
    pub probe_in_s: Option<f64>,
    /// Labels it may not load now after failing to load them, with the seconds left.
    pub load_backoff: Vec<(LabelId, f64)>,
}

/// A decision for the caller to carry out, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Run the task on the worker; the worker loads `label` first if it does not hold it.
    Run {
        task: TaskKey,
        worker: WorkerKey,
        label: LabelId,
        /// The worker must load the label first (a label miss).
        load: bool,
    },
    /// Tell the worker to drop a label (sent before a `Run` or `Load` that needs its place).
    Evict { worker: WorkerKey, label: LabelId },
    /// Tell an idle worker to load a label ahead of demand (a preload). It takes one of
    /// the worker's slots until the worker reports it with `label_loaded` (or gives it up
    /// with `label_evicted`).
    Load { worker: WorkerKey, label: LabelId },
    /// Stop a running task on its worker (its slot frees when the worker reports back).
    Cancel { task: TaskKey, worker: WorkerKey },
    /// The task no longer runs on the worker (deadline or run-time limit): stop it there.
    /// Its slot stays busy until the worker reports, and that report is stale. The task
    /// is waiting again unless a `Fail` for it follows.
    Abandon { task: TaskKey, worker: WorkerKey },
    /// The task cannot complete; report this error to its client.
    Fail { task: TaskKey, reason: Reject },
}

/// Why a task is refused or given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// No connected worker accepts the task type.
    NoCapableWorker { task_type: String },
    /// The task key is already queued or running.
    DuplicateTask,
    /// The waiting queue is at its bound.
    QueueFull { limit: usize },
    /// The deadline passed before the task could start.
    DeadlineExceeded,
    /// The deadline passed while the task was running.
    DeadlineWhileRunning,
    /// Its workers went away `attempts` times.
    AttemptsExhausted { attempts: u32 },
    /// Its label failed to load on every worker that could run it.
    LoadFailed { label: String },
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reject::NoCapableWorker { task_type } => {
                write!(f, "no connected worker accepts task type '{task_type}'")
            }
            Reject::DuplicateTask => write!(f, "a task with this id is already in flight"),
            Reject::QueueFull { limit } => write!(f, "the task queue is full ({limit} tasks)"),
            Reject::DeadlineExceeded => write!(f, "the task's deadline passed before it could run"),
            Reject::DeadlineWhileRunning => {
                write!(f, "the task's deadline passed while it was running")
            }
            Reject::AttemptsExhausted { attempts } => {
                write!(
                    f,
                    "the task was lost with its worker (or ran past its time limit) {attempts} times; giving up"
                )
            }
            Reject::LoadFailed { label } => write!(
                f,
                "label '{label}' failed to load on every worker that can run the task"
            ),
        }
    }
}

/// A change in where a label is held, for the read side (`/labels`).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelEvent {
    pub worker: WorkerKey,
    pub label: LabelId,
    pub kind: LabelEventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelEventKind {
    /// Chosen to load on the worker; counts as held from now on.
    Loading,
    Loaded,
    Evicted,
}
