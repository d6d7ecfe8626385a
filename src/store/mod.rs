//! The durable task store: every accepted task and every final result (two writes per
//! task), written by one dedicated thread in group commits (all writes waiting at once
//! share one transaction), each commit's size and wait recorded in the metrics. Callers
//! speak plain domain types; SQLite stays inside `sqlite.rs`, and the on-disk form of a
//! final task inside `record.rs`. Depends on the task types, the error codes, the clock
//! and the metrics; never on the actors.

mod record;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::tasks::TaskView;

/// Whether tasks are stored, and how far a commit goes before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// No store: accepted tasks are lost when the server stops.
    Off,
    /// Handed to the operating system: survives a crash of the process, not of the machine.
    Os,
    /// Flushed to the disk (fsync): survives power loss.
    Fsync,
}

impl Durability {
    pub fn name(self) -> &'static str {
        match self {
            Durability::Off => "off",
            Durability::Os => "os",
            Durability::Fsync => "fsync",
        }
    }
}

impl std::str::FromStr for Durability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Durability::Off, Durability::Os, Durability::Fsync]
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown durability '{s}' (os, fsync or off)"))
    }
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the task store in {dir}: {reason}")]
    Open { dir: PathBuf, reason: String },
    #[error("the task store failed: {0}")]
    Write(String),
    #[error("the task store is closed")]
    Closed,
}

/// A task as accepted: enough to run it again after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTask {
    pub task_id: String,
    pub task_type: String,
    pub label: String,
    pub parameters_json: String,
    pub tenant: String,
    pub deadline_unix_ms: Option<u64>,
    pub submitted_unix_ms: u64,
}

/// A task that was not final when the store was last closed (or the process died).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTask {
    pub task: StoredTask,
    /// Attempts counted so far: one for each run of the process that ended before the
    /// task's result (it may have been running), this last one included.
    pub attempts: u32,
}

/// A final task, readable until its retention runs out.
#[derive(Debug, Clone)]
pub struct FinishedTask {
    pub view: TaskView,
    pub finished_unix_ms: u64,
}

/// What the store held when it was opened.
#[derive(Debug, Default)]
pub struct Recovered {
    pub pending: Vec<PendingTask>,
    pub finished: Vec<FinishedTask>,
}

/// How long final tasks are kept in the store.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub age: Duration,
    pub max_finished: usize,
}

enum Op {
    Accept(StoredTask),
    Finish {
        view: TaskView,
        unix_ms: u64,
    },
    Sync(oneshot::Sender<Result<(), String>>),
    /// Runs once everything queued before it is committed (not if the commit fails).
    After(Box<dyn FnOnce() + Send>),
}

/// An operation and when it was queued, for the commit wait.
struct Queued {
    op: Op,
    at: Instant,
}

/// A handle on the store's writer thread; cheap to clone. Writes are queued in order
/// and never block the caller; `sync` waits until everything queued before it is committed.
#[derive(Clone)]
pub struct Journal {
    ops: mpsc::Sender<Queued>,
}

impl Journal {
    /// Opens (or creates) the store in `dir`, counts an attempt for each task that is not
    /// final, reads what it holds and starts the writer, which records its commits in
    /// `metrics`.
    pub fn open(
        dir: &Path,
        durability: Durability,
        retention: Retention,
        metrics: Arc<Metrics>,
    ) -> Result<(Journal, Recovered), StoreError> {
        let open_error = |reason: String| StoreError::Open {
            dir: dir.to_owned(),
            reason,
        };
        if durability == Durability::Off {
            return Err(open_error(
                "the store is off (durability = \"off\")".to_owned(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        let mut db = sqlite::Db::open(&dir.join(sqlite::FILE), durability, retention)
            .map_err(|e| open_error(e.to_string()))?;
        db.prune(crate::clock::unix_ms())
            .map_err(|e| open_error(e.to_string()))?;
        db.count_restart().map_err(|e| open_error(e.to_string()))?;
        let recovered = db.recover().map_err(|e| open_error(e.to_string()))?;
        let (ops, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("task-store".into())
            .spawn(move || writer(db, rx, &metrics))
            .map_err(|e| open_error(e.to_string()))?;
        Ok((Journal { ops }, recovered))
    }

    /// Queues `op`, stamped with the time, for the writer; fails once the writer stopped.
    fn queue(&self, op: Op) -> Result<(), StoreError> {
        let at = Instant::now();
        self.ops
            .send(Queued { op, at })
            .map_err(|_| StoreError::Closed)
    }

    /// Records a newly accepted task (replacing a final one with the same id).
    pub fn accepted(&self, task: StoredTask) {
        let _ = self.queue(Op::Accept(task)); // a closed store fails the next `sync`
    }

    /// Records a task's final view.
    pub fn finished(&self, view: &TaskView) {
        let _ = self.queue(Op::Finish {
            view: view.clone(),
            unix_ms: crate::clock::unix_ms(),
        });
    }

    /// Runs `then` on the store's thread once every write queued before it is committed,
    /// e.g. to log a final result only when it can no longer be lost.
    pub fn after_commit(&self, then: impl FnOnce() + Send + 'static) {
        let _ = self.queue(Op::After(Box::new(then)));
    }

    /// Waits until every write queued before this call is committed.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue(Op::Sync(tx))?;
        rx.await
            .map_err(|_| StoreError::Closed)?
            .map_err(StoreError::Write)
    }
}

/// Most operations in one transaction; bounds the latency of the first in a burst.
const MAX_BATCH: usize = 8192;
/// How long the writer gathers operations before committing them together.
const GATHER: Duration = Duration::from_micros(500);
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// The writer thread: takes everything queued, commits it at once, then acknowledges.
fn writer(mut db: sqlite::Db, rx: mpsc::Receiver<Queued>, metrics: &Metrics) {
    let mut last_prune = Instant::now();
    while let Ok(first) = rx.recv() {
        // Gather what arrives within a short window: fewer, larger transactions. Sleep
        // through it and then take what came, rather than wait in `recv`: every send to a
        // writer blocked in `recv` wakes it (a futex call and a context switch per write).
        let oldest = first.at;
        std::thread::sleep(GATHER.saturating_sub(oldest.elapsed()));
        let mut batch = vec![first.op];
        batch.extend(rx.try_iter().take(MAX_BATCH - 1).map(|queued| queued.op));
        let writes = batch
            .iter()
            .filter(|op| !matches!(op, Op::Sync(_) | Op::After(_)))
            .count();
        let (mut waiters, mut after) = (Vec::new(), Vec::new());
        let result = db.commit(batch.into_iter().filter_map(|op| match op {
            Op::Sync(tx) => {
                waiters.push(tx);
                None
            }
            Op::After(then) => {
                after.push(then);
                None
            }
            other => Some(other),
        }));
        if writes > 0 {
            metrics.store_committed(writes, oldest.elapsed());
        }
        if result.is_ok() {
            after.into_iter().for_each(|then| then());
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, "task store commit failed");
        }
        for waiter in waiters {
            let _ = waiter.send(result.clone().map_err(|e| e.to_string())); // the caller may be gone
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = std::time::Instant::now();
            if let Err(e) = db.prune(crate::clock::unix_ms()) {
                tracing::error!(error = %e, "task store pruning failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
