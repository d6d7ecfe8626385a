//! Dispatcher: the one place that decides. A thin adapter around the routing core: it
//! turns messages into scheduler calls, carries out the actions that come back (commands
//! to workers, task results to clients) and publishes events to the registry and the
//! log sink. No IO of its own; no blocking work.
//!
//! - this file: its state, the periodic tick, and carrying out the core's actions;
//! - `tasks`: submissions, reads, cancels and workers' results;
//! - `workers`: workers joining and leaving, labels they load and drop;
//! - `events`: the typed records it publishes (event log, registry, metrics, spans);
//! - `reads`: what the dashboard and `/metrics` read of it;
//! - `durable`: the store, restoring at start and draining at the end;
//! - `stream`: streaming tasks' chunks on their way to their clients.

mod durable;
mod events;
mod reads;
mod stream;
mod tasks;
mod workers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::admission::{Admission, DispatcherBounds};
use super::messages::*;
use super::registry::LabelRegistry;
use super::task_spans::TaskSpans;
use super::tenants::Tenants;
use crate::clock::unix_ms;
use crate::metrics::series::{QueueHistory, QueueSample};
use crate::metrics::Metrics;
use crate::protocol::{RunTask, WorkerCommand};
use crate::routing::{Action, Policy, RoutingConfig, Scheduler, TaskKey, WorkerKey};
use crate::tasks::{Ending, TaskTable};
use events::TaskEvent;

const TICK: Duration = Duration::from_millis(50);
/// How often labels nobody uses are looked for (it looks at every label).
const FORGET_EVERY: Duration = Duration::from_secs(1);
/// How often the planner's targets go to the registry (`/labels/stats`).
const PLANS_EVERY: Duration = Duration::from_secs(1);

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
    next_worker_key: u32,
    registry: Addr<LabelRegistry>,
    log: Recipient<Record>,
    epoch: Instant,
    /// The durable store; `None` when it is switched off.
    journal: Option<crate::store::Journal>,
    /// What the store held at start, restored once the actor runs.
    recovered: Option<crate::store::Recovered>,
    /// Restored tasks waiting for a capable worker (or queue room) to come back.
    parked: Vec<TaskKey>,
    max_attempts: u32,
    /// Stopping: start nothing, fail nothing; unfinished tasks stay for the restart.
    draining: bool,
    admission: Admission,
    metrics: Arc<Metrics>,
    /// Queue depth once a second over the last five minutes (the dashboard).
    queue_history: QueueHistory,
    /// The tracing span of each live task.
    spans: TaskSpans,
    /// Each tenant's limit and queue order.
    tenants: Tenants,
    /// Bytes of chunks that may wait for a streaming client (see `tasks::stream`).
    stream_buffer_bytes: usize,
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
            tenants: Tenants::default(),
            stream_buffer_bytes: 1024 * 1024,
        }
    }

    /// Serves these tenants (limits, priorities, weights); others have none.
    pub fn with_tenants(mut self, tenants: Tenants) -> Self {
        self.tenants = tenants;
        self
    }

    /// Applies the bounds the routing core does not hold.
    pub fn with_bounds(mut self, bounds: DispatcherBounds) -> Self {
        self.admission = Admission::new(&bounds);
        self.stream_buffer_bytes = bounds.stream_buffer_bytes;
        self.tasks.set_max_bytes(bounds.max_retained_bytes);
        self
    }

    /// Records finished tasks into `metrics` (the server's shared ones).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The routing core's clock: seconds since this dispatcher was made.
    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    /// Carries out the scheduler's decisions, then publishes label moves.
    fn apply(&mut self, actions: Vec<Action>) {
        let now = Instant::now();
        let mut abandoned = Vec::new();
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
                    self.tasks.requeue(task);
                    abandoned.push(task);
                    if let Some(record) = self.tasks.get_key(task) {
                        let task_id = record.view().task_id.clone();
                        tracing::warn!(task_id = %task_id, "task taken off its worker (deadline or run-time limit)");
                        self.send(worker, WorkerCommand::Cancel { task_id });
                    }
                }
                Action::Cancel { task, worker } => {
                    if let Some(record) = self.tasks.get_key(task) {
                        let task_id = record.view().task_id.clone();
                        self.send(worker, WorkerCommand::Cancel { task_id });
                    }
                }
                Action::Fail { task, reason } => {
                    let _task = self
                        .tasks
                        .get_key(task)
                        .map_or_else(tracing::Span::none, |r| self.spans.get(&r.view().task_id))
                        .entered();
                    let ending = Ending::Failed {
                        error: tasks::reject_body(&reason),
                        ran: None,
                    };
                    if let Some(view) = self.tasks.finish(task, now, ending) {
                        tracing::warn!(task_id = %view.task_id, label = %view.label, %reason, "task failed");
                        self.task_event(TaskEvent::Failed, &view);
                    }
                }
            }
        }
        self.end_streamed(abandoned);
        self.publish_label_events();
        self.publish_health_events();
    }

    /// Starts an attempt of `task` on `worker`: the table marks it running, the worker
    /// gets it with what is left of its deadline.
    fn start(&mut self, task: TaskKey, worker: WorkerKey, now: Instant) {
        let Some(worker_id) = self.worker_ids.get(&worker).cloned() else {
            return;
        };
        let Some(record) = self.tasks.start(task, &worker_id, now) else {
            return;
        };
        let deadline_unix_ms = record.deadline().map(|d| {
            let left = u64::try_from(d.saturating_duration_since(now).as_millis());
            unix_ms().saturating_add(left.unwrap_or(u64::MAX))
        });
        let view = record.view().clone();
        let command = WorkerCommand::Run(RunTask {
            task_id: view.task_id.clone(),
            task_type: view.task_type.clone(),
            label: view.label.clone(),
            parameters_json: record.parameters_json().to_owned(),
            deadline_unix_ms,
        });
        self.spans.started(&view.task_id, &worker_id);
        let _task = self.spans.get(&view.task_id).entered();
        tracing::debug!(task_id = %view.task_id, worker_id = %worker_id, label = %view.label, "task started");
        self.task_event(TaskEvent::Started, &view);
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

    /// How many tasks `worker` really runs: those the core placed on it that were sent to
    /// it (while draining, the core's placements are not carried out).
    fn busy(&self, worker: WorkerKey) -> usize {
        self.scheduler
            .running_on(worker)
            .iter()
            .filter(|key| {
                self.tasks
                    .get_key(**key)
                    .is_some_and(|r| r.view().status == crate::tasks::Status::Running)
            })
            .count()
    }

    /// The worker entry for a message from connection `conn`, if it is still the live one.
    fn live(&self, worker_id: &str, conn: u64) -> Option<WorkerKey> {
        self.workers
            .get(worker_id)
            .filter(|entry| entry.conn == conn)
            .map(|entry| entry.key)
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
        ctx.run_interval(PLANS_EVERY, |this, _| {
            let labels = this
                .scheduler
                .placements(this.now())
                .into_iter()
                .filter(|p| p.target > 0 || p.demand > 0.0)
                .map(|p| (p.label, p.target, p.demand))
                .collect();
            this.registry.do_send(LabelsPlanned { labels });
        });
    }
}
