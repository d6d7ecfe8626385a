//! The worker's connection to the dispatcher: register, run what it is told, report,
//! heartbeat, and reconnect with backoff when the dispatcher goes away. Runs on one
//! thread (tasks are `spawn_local`ed); protobuf stays in `protocol`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::labels::Labels;
use super::Executor;
use crate::actors::unix_ms;
use crate::protocol::{
    decode_command, encode_from_worker, FromWorker, LogRecord, Registration, RunTask, TaskReport,
    WorkerCommand,
};

const HEARTBEAT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// `ws://HOST:PORT/worker-listen`
    pub url: String,
    pub worker_id: String,
    pub max_labels: u32,
    pub slots: u32,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Give up after this many failed connection attempts in a row (None: never).
    pub max_retries: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid dispatcher URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("gave up after {attempts} failed connection attempts; last error: {last}")]
    GaveUp { attempts: u32, last: String },
}

/// How a connection ended.
enum End {
    /// The dispatcher asked us to drain and we did.
    Drained,
    /// Lost or closed; reconnect.
    Lost(String),
}

/// Connects and serves until drained (or out of retries).
pub async fn run<E: Executor>(options: WorkerOptions, executor: Rc<E>) -> Result<(), WorkerError> {
    let labels = Rc::new(Labels::new(options.max_labels as usize));
    let mut backoff = Duration::from_millis(250);
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let end = connection(&options, &executor, &labels).await?;
        match end {
            End::Drained => return Ok(()),
            End::Lost(reason) => {
                if started.elapsed() > Duration::from_secs(5) {
                    backoff = Duration::from_millis(250);
                    failures = 0;
                }
                failures += 1;
                if options.max_retries.is_some_and(|max| failures > max) {
                    return Err(WorkerError::GaveUp {
                        attempts: failures,
                        last: reason,
                    });
                }
                tracing::warn!(%reason, retry_in_ms = backoff.as_millis() as u64, "disconnected from the dispatcher");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn connection<E: Executor>(options: &WorkerOptions, executor: &Rc<E>, labels: &Rc<Labels>) -> Result<End, WorkerError> {
    let bad_url = |reason: String| WorkerError::BadUrl {
        url: options.url.clone(),
        reason,
    };
    let mut request = options.url.as_str().into_client_request().map_err(|e| bad_url(e.to_string()))?;
    let id = HeaderValue::from_str(&options.worker_id).map_err(|e| bad_url(format!("worker id: {e}")))?;
    request.headers_mut().insert("Worker-Id", id);
    if let Some(token) = &options.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| bad_url(format!("token: {e}")))?;
        request.headers_mut().insert("Authorization", value);
    }
    let ws = match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => ws,
        Err(e) => return Ok(End::Lost(format!("cannot connect: {e}"))),
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<FromWorker>();
    let register = FromWorker::Register(Registration {
        worker_id: options.worker_id.clone(),
        max_labels: options.max_labels,
        slots: options.slots,
        task_types: executor.task_types(),
        labels: labels.held(),
    });
    if let Err(e) = sink.send(Message::Binary(encode_from_worker(&register).into())).await {
        return Ok(End::Lost(format!("cannot register: {e}")));
    }
    tracing::info!(worker_id = %options.worker_id, url = %options.url, "connected to the dispatcher");
    let running: Rc<RefCell<HashMap<String, AbortHandle>>> = Rc::default();
    let mut draining = false;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let end = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Binary(bytes))) => match decode_command(&bytes) {
                    Ok(WorkerCommand::Drain) => draining = true,
                    Ok(command) => handle(command, executor, labels, &running, &tx),
                    Err(e) => tracing::error!(error = %e, "undecodable frame from the dispatcher"),
                },
                Some(Ok(Message::Close(frame))) => {
                    break End::Lost(frame.map_or_else(|| "closed".to_owned(), |f| format!("closed: {}", f.reason)));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break End::Lost(e.to_string()),
                None => break End::Lost("connection ended".to_owned()),
            },
            Some(message) = rx.recv() => {
                if let Err(e) = sink.send(Message::Binary(encode_from_worker(&message).into())).await {
                    break End::Lost(e.to_string());
                }
            }
            _ = heartbeat.tick() => {
                if let Err(e) = sink.send(Message::Binary(encode_from_worker(&FromWorker::Heartbeat).into())).await {
                    break End::Lost(e.to_string());
                }
            }
        }
        if draining && running.borrow().is_empty() && rx.is_empty() {
            let _ = sink.send(Message::Close(None)).await;
            break End::Drained;
        }
    };
    // Tasks of a lost connection are the dispatcher's to retry elsewhere.
    for (_, task) in running.borrow_mut().drain() {
        task.abort();
    }
    Ok(end)
}

fn log(tx: &mpsc::UnboundedSender<FromWorker>, level: &str, message: String) {
    let _ = tx.send(FromWorker::Log(LogRecord {
        level: level.to_owned(),
        message,
        fields: Default::default(),
        unix_ms: unix_ms(),
    }));
}

fn handle<E: Executor>(
    command: WorkerCommand,
    executor: &Rc<E>,
    labels: &Rc<Labels>,
    running: &Rc<RefCell<HashMap<String, AbortHandle>>>,
    tx: &mpsc::UnboundedSender<FromWorker>,
) {
    match command {
        WorkerCommand::Run(task) => {
            let task_id = task.task_id.clone();
            let (executor, labels, tx2, running2) = (executor.clone(), labels.clone(), tx.clone(), running.clone());
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
                }));
            }
        }
        WorkerCommand::Load { label } => {
            let (executor, labels, tx) = (executor.clone(), labels.clone(), tx.clone());
            tokio::task::spawn_local(async move {
                let _ = ensure(&label, &executor, &labels, &tx).await;
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
    tx: &mpsc::UnboundedSender<FromWorker>,
) -> Result<Option<Duration>, String> {
    let started = Instant::now();
    let evict = |old: &str| {
        executor.evict(old);
        let _ = tx.send(FromWorker::LabelEvicted { label: old.to_owned() });
    };
    let (result, ready) = labels.acquire(label, evict, || executor.load(label)).await;
    match result {
        Ok(()) if ready.loaded_now => {
            let _ = tx.send(FromWorker::LabelLoaded { label: label.to_owned() });
            log(tx, "info", format!("loaded label {label} in {} ms", started.elapsed().as_millis()));
            Ok(Some(started.elapsed()))
        }
        Ok(()) => Ok(None),
        Err(e) => {
            let _ = tx.send(FromWorker::LabelEvicted { label: label.to_owned() });
            log(tx, "error", format!("cannot load label {label}: {e}"));
            Err(format!("cannot load label '{label}': {e}"))
        }
    }
}

async fn run_task<E: Executor>(
    task: &RunTask,
    executor: &Rc<E>,
    labels: &Labels,
    tx: &mpsc::UnboundedSender<FromWorker>,
) -> TaskReport {
    let loaded = ensure(&task.label, executor, labels, tx).await;
    let load = loaded.as_ref().ok().copied().flatten();
    let (label_miss, load_ms) = (load.is_some(), load.map_or(0, |d| d.as_millis() as u64));
    let started = Instant::now();
    let outcome = match loaded {
        Err(e) => Err(e),
        Ok(_) => {
            let outcome = match task.deadline_unix_ms {
                Some(deadline) => {
                    let left = Duration::from_millis(deadline.saturating_sub(unix_ms()));
                    tokio::time::timeout(left, executor.run(task))
                        .await
                        .unwrap_or_else(|_| Err("deadline exceeded while running".to_owned()))
                }
                None => executor.run(task).await,
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
    }
}
