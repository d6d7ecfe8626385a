//! Carrying out the dispatcher's commands on a worker: labels loaded once and kept up to
//! K, tasks run with their deadline, cancelled on request, and every outcome reported as
//! a `FromWorker` message. Shared by the remote worker's connection and the in-process
//! local worker; knows nothing of how messages travel.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::labels::Labels;
use super::Executor;
use crate::clock::unix_ms;
use crate::protocol::{FailureKind, FromWorker, LogRecord, RunTask, TaskReport, WorkerCommand};

/// Tasks running on this worker, by id.
pub type Running = Rc<RefCell<HashMap<String, AbortHandle>>>;

/// Where reports go.
pub type Reports = mpsc::UnboundedSender<FromWorker>;

/// Where a running task sends the pieces of its output (`TaskChunk` frames, in order).
pub struct Chunks {
    tx: Reports,
    task_id: String,
    next: std::cell::Cell<u64>,
}

impl Chunks {
    pub fn new(tx: Reports, task_id: String) -> Self {
        Self {
            tx,
            task_id,
            next: std::cell::Cell::new(0),
        }
    }

    /// Sends one chunk, a JSON document; `false` once the connection is gone.
    pub fn send(&self, chunk_json: String) -> bool {
        let seq = self.next.get();
        self.next.set(seq + 1);
        let chunk = crate::protocol::Chunk {
            task_id: self.task_id.clone(),
            seq,
            chunk_json,
        };
        self.tx.send(FromWorker::TaskChunk(chunk)).is_ok()
    }
}

/// Serves commands until the channel closes; for workers that live in-process.
pub async fn serve<E: Executor>(
    mut commands: mpsc::UnboundedReceiver<WorkerCommand>,
    tx: Reports,
    executor: Rc<E>,
    max_labels: u32,
) {
    let labels = Rc::new(Labels::new(max_labels as usize));
    let running: Running = Rc::default();
    while let Some(command) = commands.recv().await {
        handle(command, &executor, &labels, &running, &tx);
    }
    for (_, task) in running.borrow_mut().drain() {
        task.abort();
    }
}

fn log(tx: &Reports, level: &str, message: String) {
    let _ = tx.send(FromWorker::Log(LogRecord {
        level: level.to_owned(),
        message,
        fields: Default::default(),
        unix_ms: unix_ms(),
    }));
}

pub fn handle<E: Executor>(
    command: WorkerCommand,
    executor: &Rc<E>,
    labels: &Rc<Labels>,
    running: &Running,
    tx: &Reports,
) {
    match command {
        WorkerCommand::Run(task) => {
            let task_id = task.task_id.clone();
            let (executor, labels, tx2, running2) = (
                executor.clone(),
                labels.clone(),
                tx.clone(),
                running.clone(),
            );
            let handle = tokio::task::spawn_local(async move {
                let report = run_task(&task, &executor, &labels, &tx2).await;
                running2.borrow_mut().remove(&task.task_id);
                let _ = tx2.send(FromWorker::TaskResult(report));
            });
            running.borrow_mut().insert(task_id, handle.abort_handle());
        }
        WorkerCommand::Cancel { task_id } => {
            if let Some(task) = running.borrow_mut().remove(&task_id) {
                task.abort();
                let _ = tx.send(FromWorker::TaskResult(TaskReport {
                    task_id,
                    outcome: Err("cancelled".to_owned()),
                    label_miss: false,
                    load_ms: 0,
                    run_ms: 0,
                    failure: FailureKind::Cancelled,
                }));
            }
        }
        WorkerCommand::Load { label } => {
            let (executor, labels, tx) = (executor.clone(), labels.clone(), tx.clone());
            tokio::task::spawn_local(async move {
                // Every LoadLabel is answered, also when the label was already here.
                if let Ok(None) = ensure(&label, &executor, &labels, &tx).await {
                    let _ = tx.send(FromWorker::LabelLoaded {
                        label: label.clone(),
                    });
                }
                labels.release(&label);
            });
        }
        WorkerCommand::Evict { label } => {
            if labels.evict(&label) {
                executor.evict(&label);
                log(tx, "info", format!("evicted label {label}"));
            }
            let _ = tx.send(FromWorker::LabelEvicted { label });
        }
        WorkerCommand::Drain => {}
    }
}

/// Makes the label ready; returns the load time when this call loaded it.
async fn ensure<E: Executor>(
    label: &str,
    executor: &Rc<E>,
    labels: &Labels,
    tx: &Reports,
) -> Result<Option<Duration>, String> {
    let started = Instant::now();
    let evict = |old: &str| {
        executor.evict(old);
        let _ = tx.send(FromWorker::LabelEvicted {
            label: old.to_owned(),
        });
    };
    let (result, ready) = labels.acquire(label, evict, || executor.load(label)).await;
    match result {
        Ok(()) if ready.loaded_now => {
            let _ = tx.send(FromWorker::LabelLoaded {
                label: label.to_owned(),
            });
            log(
                tx,
                "info",
                format!(
                    "loaded label {label} in {} ms",
                    started.elapsed().as_millis()
                ),
            );
            Ok(Some(started.elapsed()))
        }
        Ok(()) => Ok(None),
        Err(e) => {
            let _ = tx.send(FromWorker::LabelEvicted {
                label: label.to_owned(),
            });
            log(tx, "error", format!("cannot load label {label}: {e}"));
            Err(format!("cannot load label '{label}': {e}"))
        }
    }
}

async fn run_task<E: Executor>(
    task: &RunTask,
    executor: &Rc<E>,
    labels: &Labels,
    tx: &Reports,
) -> TaskReport {
    let loaded = ensure(&task.label, executor, labels, tx).await;
    let load = loaded.as_ref().ok().copied().flatten();
    let (label_miss, load_ms) = (load.is_some(), load.map_or(0, |d| d.as_millis() as u64));
    let started = Instant::now();
    let mut failure = FailureKind::Failed;
    let outcome = match loaded {
        Err(e) => {
            // The label's trouble on this worker, not the task's: it runs elsewhere.
            failure = FailureKind::LoadFailed;
            Err(e)
        }
        Ok(_) => {
            let chunks = Chunks::new(tx.clone(), task.task_id.clone());
            let outcome = match task.deadline_unix_ms {
                Some(deadline) => {
                    let left = Duration::from_millis(deadline.saturating_sub(unix_ms()));
                    tokio::time::timeout(left, executor.run_streaming(task, &chunks))
                        .await
                        .unwrap_or_else(|_| {
                            failure = FailureKind::DeadlineExceeded;
                            Err("deadline exceeded while running".to_owned())
                        })
                }
                None => executor.run_streaming(task, &chunks).await,
            };
            labels.release(&task.label);
            outcome
        }
    };
    TaskReport {
        task_id: task.task_id.clone(),
        outcome,
        label_miss,
        load_ms,
        run_ms: started.elapsed().as_millis() as u64,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads at once; runs forever.
    struct Stuck;

    impl Executor for Stuck {
        fn task_types(&self) -> Vec<String> {
            vec!["t".into()]
        }

        async fn load(&self, _label: &str) -> Result<(), String> {
            Ok(())
        }

        fn evict(&self, _label: &str) {}

        async fn run(&self, _task: &RunTask) -> Result<String, String> {
            std::future::pending().await
        }
    }

    /// Runs `task` on `executor` as the runner does, and returns the worker's report.
    fn report_of<E: Executor + 'static>(executor: E, task: RunTask) -> TaskReport {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&runtime, async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let running: Running = Rc::default();
            let labels = Rc::new(Labels::new(1));
            handle(
                WorkerCommand::Run(task),
                &Rc::new(executor),
                &labels,
                &running,
                &tx,
            );
            loop {
                if let Some(FromWorker::TaskResult(report)) = rx.recv().await {
                    return report;
                }
            }
        })
    }

    #[test]
    fn a_task_past_its_deadline_is_reported_as_deadline_exceeded() {
        let task = RunTask {
            task_id: "late".into(),
            task_type: "t".into(),
            label: "l".into(),
            parameters_json: "{}".into(),
            deadline_unix_ms: Some(unix_ms() + 50),
        };
        let report = report_of(Stuck, task);
        assert_eq!(report.failure, FailureKind::DeadlineExceeded);
        assert!(report.outcome.is_err());
    }

    /// Cannot load any label.
    struct Unloadable;

    impl Executor for Unloadable {
        fn task_types(&self) -> Vec<String> {
            vec!["t".into()]
        }

        async fn load(&self, _label: &str) -> Result<(), String> {
            Err("corrupt model file".into())
        }

        fn evict(&self, _label: &str) {}

        async fn run(&self, _task: &RunTask) -> Result<String, String> {
            Ok("{}".into())
        }
    }

    #[test]
    fn a_failed_load_is_reported_as_load_failed() {
        let task = RunTask {
            task_id: "t-1".into(),
            task_type: "t".into(),
            label: "l".into(),
            parameters_json: "{}".into(),
            deadline_unix_ms: None,
        };
        let report = report_of(Unloadable, task);
        assert_eq!(report.failure, FailureKind::LoadFailed);
        assert!(report.outcome.unwrap_err().contains("corrupt model file"));
    }
}
