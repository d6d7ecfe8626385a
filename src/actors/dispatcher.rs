//! Dispatcher: the one place that decides. A thin adapter around the routing core: it
//! turns messages into scheduler calls, carries out the actions that come back (commands
//! to workers, task results to clients) and publishes events to the registry and the
//! log sink. No IO of its own; no blocking work.

mod durable;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use serde_json::json;

use super::admission::{Admission, DispatcherBounds};
use super::board::{PoolView, WorkerLoad};
use super::messages::*;
use super::registry::LabelRegistry;
use super::task_spans::TaskSpans;
use crate::clock::unix_ms;
use crate::error_code::ErrorCode;
use crate::metrics::series::{QueueHistory, QueueSample};
use crate::metrics::{status_name, Metrics};
use crate::protocol::{FailureKind, RunTask, TaskReport, WorkerCommand};
use crate::routing::{
    Action, Cancelled, LabelEventKind, Outcome, Policy, Reject, RoutingConfig, Scheduler, TaskSpec,
    WorkerKey, WorkerSpec,
};
use crate::tasks::{ErrorBody, Status, TaskRecord, TaskTable, TaskView, Timings};

const TICK: Duration = Duration::from_millis(50);
/// How often labels nobody uses are looked for (it looks at every label).
const FORGET_EVERY: Duration = Duration::from_secs(1);

struct WorkerEntry {
    key: WorkerKey,
    conn: u64,
    commands: Recipient<Dispatch>,
    local: bool,
    slots: u32,
}

pub struct Dispatcher {
    scheduler: Scheduler,
    tasks: TaskTable,
    workers: HashMap<String, WorkerEntry>,
    worker_ids: HashMap<WorkerKey, String>,
    /// Tasks each worker is running, to put them back in the queue if it goes away.
    running_on: HashMap<WorkerKey, HashSet<crate::routing::TaskKey>>,
    next_worker_key: u32,
    registry: Addr<LabelRegistry>,
    log: Recipient<Record>,
    epoch: Instant,
    /// The durable store; `None` when it is switched off.
    journal: Option<crate::store::Journal>,
    /// What the store held at start, restored once the actor runs.
    recovered: Option<crate::store::Recovered>,
    /// Restored tasks waiting for a capable worker (or queue room) to come back.
    parked: Vec<crate::routing::TaskKey>,
    max_attempts: u32,
    /// Stopping: start nothing, fail nothing; unfinished tasks stay for the restart.
    draining: bool,
    admission: Admission,
    metrics: Arc<Metrics>,
    /// Queue depth once a second over the last five minutes (the dashboard).
    queue_history: QueueHistory,
    /// The tracing span of each live task.
    spans: TaskSpans,
}

/// The client-facing code of each way a task can fail.
fn reject_body(reason: &Reject) -> ErrorBody {
    let code = match reason {
        Reject::NoCapableWorker { .. } => ErrorCode::NoCapableWorker,
        Reject::DuplicateTask => ErrorCode::DuplicateTask,
        Reject::QueueFull { .. } => ErrorCode::QueueFull,
        Reject::DeadlineExceeded | Reject::DeadlineWhileRunning => ErrorCode::DeadlineExceeded,
        Reject::AttemptsExhausted { .. } => ErrorCode::WorkerLost,
    };
    ErrorBody {
        code,
        message: reason.to_string(),
    }
}

impl Dispatcher {
    pub fn new(
        policy: Policy,
        routing: RoutingConfig,
        retention: Duration,
        max_finished: usize,
        registry: Addr<LabelRegistry>,
        log: Recipient<Record>,
    ) -> Self {
        let max_attempts = routing.max_attempts;
        Self {
            scheduler: Scheduler::new(policy, routing, unix_ms()),
            tasks: TaskTable::new(retention, max_finished),
            workers: HashMap::new(),
            worker_ids: HashMap::new(),
            running_on: HashMap::new(),
            next_worker_key: 0,
            registry,
            log,
            epoch: Instant::now(),
            metrics: Arc::new(Metrics::default()),
            queue_history: QueueHistory::new(1000, 300),
            spans: TaskSpans::default(),
            journal: None,
            recovered: None,
            parked: Vec::new(),
            max_attempts,
            draining: false,
            admission: Admission::default(),
        }
    }

    /// Applies the bounds the routing core does not hold.
    pub fn with_bounds(mut self, bounds: DispatcherBounds) -> Self {
        self.admission = Admission::new(&bounds);
        self.tasks.set_max_bytes(bounds.max_retained_bytes);
        self
    }

    /// Records finished tasks into `metrics` (the server's shared ones).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn event(&self, event: &str, view: &TaskView) {
        if view.status.is_final() {
            self.spans.close(&view.task_id, status_name(view.status));
            self.metrics.task_ended(view);
            self.registry.do_send(TaskEnded {
                label: view.label.clone(),
                completed: view.status == Status::Completed,
                latency_s: view.timings.total_ms as f64 / 1000.0,
            });
        }
        let record = Record(json!({
            "unix_ms": unix_ms(),
            "event": event,
            "task_id": view.task_id,
            "worker_id": view.worker,
            "label": view.label,
            "task_type": view.task_type,
            "label_miss": view.label_miss,
            "status": view.status,
            "attempts": view.attempts,
            "timings": view.timings,
            "error": view.error,
        }));
        match &self.journal {
            // A final result is logged once stored, so a crash cannot log it twice.
            Some(journal) if view.status.is_final() => {
                let log = self.log.clone();
                journal.after_commit(move || log.do_send(record));
            }
            _ => self.log.do_send(record),
        }
    }

    fn worker_event(&self, event: &str, worker_id: &str, detail: serde_json::Value) {
        self.log.do_send(Record(json!({
            "unix_ms": unix_ms(),
            "event": event,
            "worker_id": worker_id,
            "detail": detail,
        })));
    }

    /// Carries out the scheduler's decisions, then publishes label moves.
    fn apply(&mut self, actions: Vec<Action>) {
        let now = Instant::now();
        for action in actions {
            if self.draining && matches!(action, Action::Run { .. } | Action::Fail { .. }) {
                continue; // the task stays queued in the store for after the restart
            }
            match action {
                Action::Run { task, worker, .. } => self.start(task, worker, now),
                Action::Evict { worker, label } => {
                    let label = self.scheduler.label_name(label).to_owned();
                    self.send(worker, WorkerCommand::Evict { label });
                }
                Action::Load { worker, label } => {
                    let label = self.scheduler.label_name(label).to_owned();
                    self.send(worker, WorkerCommand::Load { label });
                }
                Action::Abandon { task, worker } => {
                    if let Some(set) = self.running_on.get_mut(&worker) {
                        set.remove(&task);
                    }
                    if let Some(record) = self.tasks.get_key_mut(task) {
                        if !record.view.status.is_final() {
                            record.view.status = Status::Queued;
                            record.view.worker = None;
                        }
                        let task_id = record.view.task_id.clone();
                        tracing::warn!(task_id = %task_id, "task taken off its worker (deadline or run-time limit)");
                        self.send(worker, WorkerCommand::Cancel { task_id });
                    }
                }
                Action::Cancel { task, worker } => {
                    if let Some(record) = self.tasks.get_key(task) {
                        let task_id = record.view.task_id.clone();
                        self.send(worker, WorkerCommand::Cancel { task_id });
                    }
                }
                Action::Fail { task, reason } => {
                    let _task = self
                        .tasks
                        .get_key(task)
                        .map_or_else(tracing::Span::none, |r| self.spans.get(&r.view.task_id))
                        .entered();
                    let error = reject_body(&reason);
                    if let Some(view) = self.tasks.finish(task, now, |view| {
                        view.status = Status::Failed;
                        view.error = Some(error);
                    }) {
                        tracing::warn!(task_id = %view.task_id, label = %view.label, %reason, "task failed");
                        self.event("task_failed", &view);
                    }
                }
            }
        }
        for event in self.scheduler.take_label_events() {
            let Some(worker_id) = self.worker_ids.get(&event.worker).cloned() else {
                continue;
            };
            let label = self.scheduler.label_name(event.label).to_owned();
            let (placement, name) = match event.kind {
                LabelEventKind::Loading => (Placement::Loading, "label_loading"),
                LabelEventKind::Loaded => (Placement::Loaded, "label_loaded"),
                LabelEventKind::Evicted => (Placement::Evicted, "label_evicted"),
            };
            tracing::debug!(worker_id = %worker_id, label = %label, event = name, "label moved");
            self.worker_event(name, &worker_id, json!({ "label": label }));
            self.registry.do_send(LabelPlaced {
                worker_id,
                label,
                placement,
            });
        }
    }

    fn start(&mut self, task: crate::routing::TaskKey, worker: WorkerKey, now: Instant) {
        let Some(worker_id) = self.worker_ids.get(&worker).cloned() else {
            return;
        };
        let Some(record) = self.tasks.get_key_mut(task) else {
            return;
        };
        record.view.status = Status::Running;
        record.view.worker = Some(worker_id.clone());
        record.view.attempts += 1;
        if let Some(journal) = &self.journal {
            journal.started(&record.view.task_id, record.view.attempts);
        }
        record.started = Some(now);
        record.view.timings.queue_ms = now.duration_since(record.submitted).as_millis() as u64;
        let deadline_unix_ms = record.deadline.map(|d| {
            let left = u64::try_from(d.saturating_duration_since(now).as_millis());
            unix_ms().saturating_add(left.unwrap_or(u64::MAX))
        });
        let command = WorkerCommand::Run(RunTask {
            task_id: record.view.task_id.clone(),
            task_type: record.view.task_type.clone(),
            label: record.view.label.clone(),
            parameters_json: record.parameters_json.clone(),
            deadline_unix_ms,
        });
        let view = record.view.clone();
        self.spans.started(&view.task_id, &worker_id);
        let _task = self.spans.get(&view.task_id).entered();
        tracing::debug!(task_id = %view.task_id, worker_id = %worker_id, label = %view.label, "task started");
        self.event("task_started", &view);
        self.running_on.entry(worker).or_default().insert(task);
        self.send(worker, command);
    }

    fn send(&self, worker: WorkerKey, command: WorkerCommand) {
        if let Some(entry) = self
            .worker_ids
            .get(&worker)
            .and_then(|id| self.workers.get(id))
        {
            entry.commands.do_send(Dispatch(command));
        }
    }

    /// The worker entry for a message from connection `conn`, if it is still the live one.
    fn live(&self, worker_id: &str, conn: u64) -> Option<WorkerKey> {
        self.workers
            .get(worker_id)
            .filter(|entry| entry.conn == conn)
            .map(|entry| entry.key)
    }

    fn finish_report(&mut self, worker: WorkerKey, report: TaskReport) -> Result<(), String> {
        let _task = self.spans.get(&report.task_id).entered();
        let key = self
            .tasks
            .key_of(&report.task_id)
            .ok_or_else(|| format!("result for unknown task '{}'", report.task_id))?;
        let outcome = Outcome {
            load_s: report.label_miss.then_some(report.load_ms as f64 / 1000.0),
            run_s: report.run_ms as f64 / 1000.0,
        };
        let now_s = self.now();
        if let Some(actions) = self.scheduler.release_abandoned(worker, key, now_s) {
            // Taken off this worker (deadline, run-time limit): the task is final or elsewhere.
            self.metrics.result_dropped();
            self.apply(actions);
            return Ok(());
        }
        let Ok(actions) = self.scheduler.task_finished(worker, key, outcome, now_s) else {
            // Given to another worker since (or already answered): not a breach.
            tracing::info!(task_id = %report.task_id, "result for a task this worker no longer runs; dropped");
            self.metrics.result_dropped();
            return Ok(());
        };
        if let Some(set) = self.running_on.get_mut(&worker) {
            set.remove(&key);
        }
        let (status, result, error) = match report.outcome {
            Ok(json) => match crate::tasks::RawJson::parse(json) {
                Ok(value) => (Status::Completed, Some(value), None),
                Err(e) => (
                    Status::Failed,
                    None,
                    Some(ErrorBody {
                        code: ErrorCode::InvalidResult,
                        message: format!("the worker's result is not JSON: {e}"),
                    }),
                ),
            },
            Err(message) => (
                Status::Failed,
                None,
                Some(ErrorBody {
                    code: match report.failure {
                        FailureKind::Failed => ErrorCode::TaskFailed,
                        FailureKind::DeadlineExceeded => ErrorCode::DeadlineExceeded,
                        FailureKind::Cancelled => ErrorCode::Cancelled,
                    },
                    message,
                }),
            ),
        };
        let (label_miss, load_ms, run_ms) = (report.label_miss, report.load_ms, report.run_ms);
        if let Some(view) = self.tasks.finish(key, Instant::now(), |view| {
            view.status = status;
            view.result = result;
            view.error = error;
            view.label_miss = label_miss;
            view.timings = Timings {
                load_ms,
                run_ms,
                ..view.timings.clone()
            };
        }) {
            let event = if status == Status::Completed {
                "task_completed"
            } else {
                "task_failed"
            };
            self.event(event, &view);
            self.registry.do_send(LabelStatsRecorded {
                label: view.label.clone(),
                label_miss,
                load_ms,
                run_ms,
            });
        } else {
            // Already final (cancelled, deadline passed): its slot is free now.
            self.metrics.result_dropped();
        }
        self.apply(actions);
        Ok(())
    }
}

impl Actor for Dispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.restore();
        ctx.run_interval(TICK, |this, _| {
            let actions = this.scheduler.tick(this.now());
            this.apply(actions);
            this.retry_parked();
            this.tasks.prune(Instant::now());
            this.queue_history.offer(QueueSample {
                unix_ms: unix_ms(),
                queued: this.scheduler.queued(),
                running: this.scheduler.running(),
            });
        });
        ctx.run_interval(FORGET_EVERY, |this, _| {
            let labels = this.scheduler.forget_idle_labels(this.now());
            if !labels.is_empty() {
                tracing::debug!(count = labels.len(), "forgot idle labels");
                for label in &labels {
                    this.metrics.forget_label(label);
                }
                this.registry.do_send(LabelsForgotten { labels });
            }
        });
    }
}

impl Handler<SubmitTask> for Dispatcher {
    type Result = Result<Submitted, SubmitError>;

    fn handle(&mut self, msg: SubmitTask, _: &mut Context<Self>) -> Self::Result {
        let task = msg.task;
        if self.draining {
            return Err(SubmitError::ShuttingDown);
        }
        if self
            .tasks
            .get(&task.task_id)
            .is_some_and(|r| !r.view.status.is_final())
        {
            return Err(SubmitError::Duplicate(task.task_id));
        }
        self.admission.admit(&self.scheduler, &task, self.now())?;
        let span = self.spans.open(&task.task_id, &task.label, &task.task_type);
        let _task = span.enter();
        let now = Instant::now();
        let key = self.tasks.next_key();
        let spec = TaskSpec {
            key,
            label: task.label.clone(),
            task_type: task.task_type.clone(),
            deadline: task.deadline.map(|d| self.now() + d.as_secs_f64()),
        };
        let view = TaskView {
            task_id: task.task_id.clone(),
            status: Status::Queued,
            label: task.label,
            task_type: task.task_type,
            worker: None,
            label_miss: false,
            attempts: 0,
            result: None,
            error: None,
            timings: Timings::default(),
        };
        let (sender, done) = if msg.wait {
            let (tx, rx) = tokio::sync::oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.tasks.insert(TaskRecord {
            key,
            view,
            parameters_json: task.parameters_json,
            // Bounded at the edge; a deadline beyond what the clock can hold is none.
            deadline: task.deadline.and_then(|d| now.checked_add(d)),
            submitted: now,
            started: None,
            finished: None,
            waiters: sender.into_iter().collect(),
        });
        let now_s = self.now();
        match self.scheduler.submit(spec, now_s) {
            Ok(actions) => {
                if let Some(record) = self.tasks.get_key(key) {
                    self.event("task_submitted", &record.view);
                    self.journal_accepted(record);
                }
                self.apply(actions);
                let view = self
                    .tasks
                    .get_key(key)
                    .map(|r| r.view.clone())
                    .ok_or_else(|| {
                        SubmitError::Duplicate(task.task_id.clone()) // unreachable: just inserted
                    })?;
                Ok(Submitted { view, done })
            }
            Err(reject) => {
                self.tasks.remove(key);
                self.spans.close(&task.task_id, "rejected");
                Err(match reject {
                    Reject::NoCapableWorker { task_type } => {
                        SubmitError::NoCapableWorker(task_type)
                    }
                    Reject::QueueFull { limit } => SubmitError::QueueFull(limit),
                    // Unreachable: duplicates are refused above, and submit refuses no other way.
                    _ => SubmitError::Duplicate(task.task_id),
                })
            }
        }
    }
}

impl Handler<GetTask> for Dispatcher {
    type Result = Option<TaskView>;

    fn handle(&mut self, msg: GetTask, _: &mut Context<Self>) -> Self::Result {
        self.tasks.get(&msg.task_id).map(|r| r.view.clone())
    }
}

impl Handler<CancelTask> for Dispatcher {
    type Result = Option<TaskView>;

    fn handle(&mut self, msg: CancelTask, _: &mut Context<Self>) -> Self::Result {
        let _task = self.spans.get(&msg.task_id).entered();
        let record = self.tasks.get(&msg.task_id)?;
        if record.view.status.is_final() {
            return Some(record.view.clone());
        }
        let key = record.key;
        if let Cancelled::Running(action) = self.scheduler.cancel(key) {
            self.apply(vec![action]);
        }
        let view = self.tasks.finish(key, Instant::now(), |view| {
            view.status = Status::Cancelled;
            view.error = Some(ErrorBody {
                code: ErrorCode::Cancelled,
                message: "the task was cancelled".into(),
            });
        })?;
        self.event("task_cancelled", &view);
        Some(view)
    }
}

impl Handler<WorkerJoined> for Dispatcher {
    type Result = Result<(), JoinError>;

    fn handle(&mut self, msg: WorkerJoined, _: &mut Context<Self>) -> Self::Result {
        let registration = msg.registration;
        let worker_id = registration.worker_id.clone();
        if self.workers.contains_key(&worker_id) {
            return Err(JoinError::Duplicate(worker_id));
        }
        self.next_worker_key += 1;
        let key = WorkerKey(self.next_worker_key);
        // The registry must know the worker before its first label event arrives.
        self.worker_ids.insert(key, worker_id.clone());
        let spec = WorkerSpec {
            key,
            slots: registration.slots,
            max_labels: registration.max_labels,
            task_types: registration.task_types.clone(),
            labels: registration.labels.clone(),
        };
        let now_s = self.now();
        let actions = match self.scheduler.worker_joined(spec, now_s) {
            Ok(actions) => actions,
            Err(_) => {
                self.worker_ids.remove(&key);
                return Err(JoinError::TooManyTaskTypes);
            }
        };
        self.workers.insert(
            worker_id.clone(),
            WorkerEntry {
                key,
                conn: msg.conn,
                commands: msg.commands,
                local: msg.local,
                slots: registration.slots,
            },
        );
        self.admission
            .joined(key, &registration.task_types, registration.catalog.clone());
        self.registry.do_send(WorkerConnected {
            worker_id: worker_id.clone(),
            task_types: registration.task_types.clone(),
        });
        tracing::info!(worker_id = %worker_id, slots = registration.slots, max_labels = registration.max_labels, "worker joined");
        self.worker_event(
            "worker_joined",
            &worker_id,
            json!({
                "slots": registration.slots,
                "max_labels": registration.max_labels,
                "task_types": registration.task_types,
                "labels": registration.labels,
            }),
        );
        self.apply(actions);
        self.joined_hook(&worker_id);
        Ok(())
    }
}

impl Handler<WorkerLeft> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: WorkerLeft, _: &mut Context<Self>) {
        let Some(key) = self.live(&msg.worker_id, msg.conn) else {
            return;
        };
        self.workers.remove(&msg.worker_id);
        for task in self.running_on.remove(&key).unwrap_or_default() {
            if let Some(record) = self.tasks.get_key_mut(task) {
                if !record.view.status.is_final() {
                    record.view.status = Status::Queued;
                    record.view.worker = None;
                }
            }
        }
        let now_s = self.now();
        self.admission.left(key, now_s);
        let actions = self.scheduler.worker_left(key, now_s);
        self.apply(actions);
        self.worker_ids.remove(&key);
        self.registry.do_send(WorkerDisconnected {
            worker_id: msg.worker_id.clone(),
        });
        tracing::info!(worker_id = %msg.worker_id, reason = %msg.reason, "worker left");
        self.worker_event(
            "worker_left",
            &msg.worker_id,
            json!({ "reason": msg.reason }),
        );
    }
}

impl Handler<TaskFinished> for Dispatcher {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: TaskFinished, _: &mut Context<Self>) -> Self::Result {
        let task_id = msg.report.task_id.clone();
        let result = self
            .live(&msg.worker_id, msg.conn)
            .ok_or_else(|| "worker is not registered".to_owned())
            .and_then(|key| self.finish_report(key, msg.report));
        let Err(reason) = result else {
            return Ok(());
        };
        self.metrics.result_dropped();
        if self.live(&msg.worker_id, msg.conn).is_some() && self.tasks.key_of(&task_id).is_some() {
            // A late result (the task was cancelled, timed out or given to another worker):
            // dropped, and the worker stays connected.
            tracing::debug!(task_id = %task_id, worker_id = %msg.worker_id, %reason, "late result dropped");
            return Ok(());
        }
        Err(reason)
    }
}

impl Handler<LabelLoaded> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: LabelLoaded, _: &mut Context<Self>) {
        if let Some(key) = self.live(&msg.worker_id, msg.conn) {
            let now_s = self.now();
            let actions = self.scheduler.label_loaded(key, &msg.label, now_s);
            self.apply(actions);
        }
    }
}

impl Handler<LabelEvicted> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: LabelEvicted, _: &mut Context<Self>) {
        if let Some(key) = self.live(&msg.worker_id, msg.conn) {
            self.scheduler.label_evicted(key, &msg.label);
            self.apply(Vec::new());
        }
    }
}

impl Handler<GetStats> for Dispatcher {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(DispatcherStats {
            queued: self.scheduler.queued(),
            running: self.scheduler.running(),
            finished: self.tasks.totals(),
            restored_waiting: self.parked.len(),
        })
    }
}

impl Handler<RepositoryLabels> for Dispatcher {
    type Result = ();

    /// Models added to the server's repository are loadable by the in-process workers.
    fn handle(&mut self, msg: RepositoryLabels, _: &mut Context<Self>) {
        for entry in self.workers.values().filter(|e| e.local) {
            self.admission.catalogs.extend(entry.key, &msg.labels);
        }
    }
}

impl Handler<GetPool> for Dispatcher {
    type Result = MessageResult<GetPool>;

    fn handle(&mut self, _: GetPool, _: &mut Context<Self>) -> Self::Result {
        let mut workers: Vec<WorkerLoad> = self
            .workers
            .iter()
            .map(|(worker_id, entry)| WorkerLoad {
                worker_id: worker_id.clone(),
                kind: if entry.local { "local" } else { "remote" },
                slots: entry.slots,
                busy: self.running_on.get(&entry.key).map_or(0, HashSet::len),
            })
            .collect();
        workers.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
        MessageResult(PoolView {
            workers,
            queued: self.scheduler.queued(),
            running: self.scheduler.running(),
            history: self.queue_history.samples(),
        })
    }
}
