//! The scheduler state machine: workers, their slots and labels, waiting and running
//! tasks. Every entry point takes the current time and returns the actions to carry
//! out; policy decisions live in `policy.rs`, and the cost model they use in `cost.rs`.

use std::collections::{HashMap, VecDeque};

use super::budget::RetryBudget;
pub use super::config::RoutingConfig;
use super::estimate::Estimates;
use super::free::FreeList;
use super::fxhash::FxHashMap;
use super::placement::Planner;
use super::policy::Policy;
use super::queue::{Queue, Waiting};
use super::rng::SplitMix64;
use super::share::FairShare;
use super::types::{
    Action, HealthEvent, LabelEvent, LabelEventKind, LabelId, Outcome, Reject, TaskKey, TaskSpec,
    Time, WorkerKey, WorkerSpec,
};
pub(super) use super::worker::{Held, Running, Worker};

/// The routing core's whole state. See the module docs of [`crate::routing`].
pub struct Scheduler {
    pub(super) policy: Policy,
    pub(super) config: RoutingConfig,
    pub(super) rng: SplitMix64,
    pub(super) label_names: Vec<String>,
    pub(super) label_ids: HashMap<String, LabelId>,
    /// Ids of forgotten labels, to reuse.
    pub(super) free_labels: Vec<LabelId>,
    /// Since when each label has had no holder and no task (see `bounds.rs`).
    pub(super) label_idle_since: FxHashMap<LabelId, Time>,
    pub(super) type_ids: HashMap<String, u16>,
    /// Connected workers able to run each task type.
    pub(super) capable: Vec<u32>,
    /// Since when no connected worker accepts each task type.
    pub(super) type_idle_since: Vec<Time>,
    /// Ids of forgotten task types, to reuse.
    pub(super) free_types: Vec<u16>,
    pub(super) workers: FxHashMap<WorkerKey, Worker>,
    /// Workers holding (or loading) each label.
    pub(super) holders: FxHashMap<LabelId, Vec<WorkerKey>>,
    /// Workers with at least one free slot, in no particular order.
    pub(super) free: FreeList,
    /// Labels that lost their last holder recently, newest last (preload candidates).
    pub(super) uncovered: VecDeque<LabelId>,
    pub(super) queue: Queue,
    pub(super) running: FxHashMap<TaskKey, Running>,
    pub(super) estimates: Estimates,
    next_seq: u64,
    /// The virtual clocks that order waiting tasks among tenants.
    pub(super) fair: FairShare,
    /// How many copies of each label the pool should hold (affinity only).
    pub(super) plan: Planner,
    pub(super) events: Vec<LabelEvent>,
    /// Workers' health changes since the last `take_health_events`.
    pub(super) health_events: Vec<HealthEvent>,
    /// What retries after failures may still spend.
    pub(super) budget: RetryBudget,
}

/// Why a worker's report was refused: the session that sent it is misbehaving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misreport {
    UnknownWorker,
    /// The task is not running on this worker.
    NotAssigned,
    TooManyTaskTypes,
}

/// What cancelling a task did.
#[derive(Debug, Clone, PartialEq)]
pub enum Cancelled {
    /// It was waiting; it is gone.
    Dequeued,
    /// It is running; carry out the action, its slot frees when the worker reports.
    Running(Action),
    Unknown,
}

impl Scheduler {
    pub fn new(policy: Policy, config: RoutingConfig, seed: u64) -> Self {
        let estimates = Estimates::new(config.priors, config.demand_tau_s);
        let health = &config.health;
        let budget = RetryBudget::new(
            health.retry_budget_window_s,
            health.retry_budget_ratio,
            health.retry_budget_min_per_s,
        );
        let plan = Planner::new(config.placement.clone());
        let mut scheduler = Self {
            policy,
            config,
            rng: SplitMix64::new(seed),
            label_names: Vec::new(),
            label_ids: HashMap::new(),
            free_labels: Vec::new(),
            label_idle_since: FxHashMap::default(),
            type_ids: HashMap::new(),
            capable: Vec::new(),
            type_idle_since: Vec::new(),
            free_types: Vec::new(),
            workers: FxHashMap::default(),
            holders: FxHashMap::default(),
            free: FreeList::default(),
            uncovered: VecDeque::new(),
            queue: Queue::default(),
            running: FxHashMap::default(),
            estimates,
            next_seq: 0,
            fair: FairShare::default(),
            plan,
            events: Vec::new(),
            health_events: Vec::new(),
            budget,
        };
        for (name, min) in scheduler.config.placement.min_copies.clone() {
            let label = scheduler.label_id(&name);
            scheduler.plan.set_min(label, min);
        }
        scheduler
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn label_id(&mut self, name: &str) -> LabelId {
        if let Some(id) = self.label_ids.get(name) {
            return *id;
        }
        let id = match self.free_labels.pop() {
            Some(id) => {
                self.label_names[id.0 as usize] = name.to_owned();
                id
            }
            None => {
                self.label_names.push(name.to_owned());
                LabelId(self.label_names.len() as u32 - 1)
            }
        };
        self.label_ids.insert(name.to_owned(), id);
        id
    }

    pub fn label_name(&self, label: LabelId) -> &str {
        &self.label_names[label.0 as usize]
    }

    fn type_id(&mut self, name: &str) -> Option<u16> {
        if let Some(id) = self.type_ids.get(name) {
            return Some(*id);
        }
        let id = match self.free_types.pop() {
            Some(id) => id,
            None if self.capable.len() < 64 => {
                self.capable.push(0);
                // Not yet accepted by anyone: forgettable at once unless a worker joins.
                self.type_idle_since.push(f64::NEG_INFINITY);
                self.capable.len() as u16 - 1
            }
            None => return None,
        };
        self.type_ids.insert(name.to_owned(), id);
        Some(id)
    }

    /// Whether some connected worker accepts `task_type`.
    pub fn has_capable_worker(&self, task_type: &str) -> bool {
        self.type_ids
            .get(task_type)
            .is_some_and(|id| self.capable[*id as usize] > 0)
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// The tasks running on `worker` (not those taken off it and not yet reported).
    pub fn running_on(&self, worker: WorkerKey) -> &[TaskKey] {
        self.workers
            .get(&worker)
            .map_or(&[], |w| w.running.as_slice())
    }

    /// Drains the label placement changes since the last call.
    pub fn take_label_events(&mut self) -> Vec<LabelEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn worker_joined(&mut self, spec: WorkerSpec, now: Time) -> Result<Vec<Action>, Misreport> {
        let mut types = 0u64;
        for name in &spec.task_types {
            let id = self.type_id(name).ok_or(Misreport::TooManyTaskTypes)?;
            types |= 1 << id;
        }
        for id in 0..self.capable.len() {
            if types & (1 << id) != 0 {
                self.capable[id] += 1;
            }
        }
        let mut worker = Worker {
            slots: spec.slots.max(1),
            max_labels: spec.max_labels.max(1),
            types,
            running: Vec::new(),
            abandoned: Vec::new(),
            labels: Vec::new(),
            preload: None,
            idle_since: now,
            health: Default::default(),
        };
        for name in spec.labels.iter().take(worker.max_labels as usize) {
            let label = self.label_id(name);
            if worker.held(label).is_some() {
                continue;
            }
            worker.labels.push(Held {
                label,
                loaded: true,
                // Not loaded by us: no churn floor protects it.
                since: f64::NEG_INFINITY,
                last_used: now,
                in_flight: 0,
            });
            self.holders.entry(label).or_default().push(spec.key);
            self.events.push(LabelEvent {
                worker: spec.key,
                label,
                kind: LabelEventKind::Loaded,
            });
        }
        self.workers.insert(spec.key, worker);
        self.free.insert(spec.key);
        let mut actions = Vec::new();
        self.fill(spec.key, now, &mut actions);
        Ok(actions)
    }

    /// The worker is gone: its running tasks go back to the queue (or fail after
    /// `max_attempts`), and queued tasks no remaining worker can run fail.
    pub fn worker_left(&mut self, key: WorkerKey, now: Time) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(worker) = self.workers.remove(&key) else {
            return actions;
        };
        self.free.remove(key);
        for id in 0..self.capable.len() {
            if worker.types & (1 << id) != 0 {
                self.capable[id] -= 1;
                if self.capable[id] == 0 {
                    self.type_idle_since[id] = now;
                }
            }
        }
        for held in &worker.labels {
            self.unhold(key, held.label);
        }
        for task in worker.running {
            let Some(run) = self.running.remove(&task) else {
                continue;
            };
            let mut waiting = run.waiting;
            waiting.attempts += 1;
            if waiting.attempts >= self.config.max_attempts {
                let attempts = waiting.attempts;
                actions.push(Action::Fail {
                    task,
                    reason: Reject::AttemptsExhausted { attempts },
                });
            } else {
                self.queue.push(task, waiting);
            }
        }
        self.fail_orphans(now, &mut actions);
        self.dispatch_idle(now, &mut actions);
        actions
    }

    pub(super) fn type_name(&self, id: u16) -> String {
        self.type_ids
            .iter()
            .find(|(_, v)| **v == id)
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    }

    pub fn submit(&mut self, spec: TaskSpec, now: Time) -> Result<Vec<Action>, Reject> {
        if self.queue.contains(spec.key) || self.running.contains_key(&spec.key) {
            return Err(Reject::DuplicateTask);
        }
        let no_worker = || Reject::NoCapableWorker {
            task_type: spec.task_type.clone(),
        };
        let task_type = self
            .type_ids
            .get(&spec.task_type)
            .copied()
            .ok_or_else(no_worker)?;
        if self.capable[task_type as usize] == 0 && !self.in_grace(task_type, now) {
            return Err(no_worker());
        }
        if self.queue.len() >= self.config.max_queue {
            return Err(Reject::QueueFull {
                limit: self.config.max_queue,
            });
        }
        let label = self.label_id(&spec.label);
        self.estimates.arrived(label, now);
        self.budget.deposit(now);
        let work_s = self.estimates.run_s(label, task_type);
        self.plan.arrived(label, task_type, work_s, now);
        let rank = self.fair.arrive(spec.share, work_s, self.next_seq);
        let waiting = Waiting {
            rank,
            tenant: spec.share.tenant,
            label,
            task_type,
            enqueued_at: now,
            deadline: spec.deadline,
            attempts: 0,
            retries: 0,
            avoid: None,
            suspect: None,
        };
        self.next_seq += 1;
        self.queue.push(spec.key, waiting);
        let mut actions = Vec::new();
        if let Some((worker, load)) = self.place(spec.key, now) {
            self.start(spec.key, worker, load, now, &mut actions);
        }
        Ok(actions)
    }

    pub fn task_finished(
        &mut self,
        worker_key: WorkerKey,
        task: TaskKey,
        outcome: Outcome,
        now: Time,
    ) -> Result<Vec<Action>, Misreport> {
        match self.running.get(&task) {
            Some(run) if run.worker == worker_key => {}
            _ => return Err(Misreport::NotAssigned),
        }
        let run = self.running.remove(&task).expect("checked above");
        let label = run.waiting.label;
        // A success elsewhere makes an earlier failure of it the other worker's own.
        if let Some(suspect) = run.waiting.suspect.filter(|s| *s != worker_key) {
            self.health_failure(suspect, now);
        }
        self.health_success(worker_key);
        self.estimates.record(
            label,
            run.waiting.task_type,
            outcome.load_s.filter(|_| run.load),
            outcome.run_s,
        );
        let worker = self
            .workers
            .get_mut(&worker_key)
            .ok_or(Misreport::UnknownWorker)?;
        worker.running.retain(|t| *t != task);
        if worker.running.is_empty() && worker.preload.is_none() {
            worker.idle_since = now;
        }
        let mut newly_loaded = false;
        if let Some(held) = worker.labels.iter_mut().find(|h| h.label == label) {
            held.in_flight = held.in_flight.saturating_sub(1);
            held.last_used = now;
            newly_loaded = !held.loaded;
            held.loaded = true;
        }
        self.sync_free(worker_key);
        if newly_loaded {
            self.events.push(LabelEvent {
                worker: worker_key,
                label,
                kind: LabelEventKind::Loaded,
            });
        }
        let mut actions = Vec::new();
        self.fill(worker_key, now, &mut actions);
        Ok(actions)
    }

    /// The worker finished loading `label` (tasks for it may start in its free slots).
    pub fn label_loaded(&mut self, worker_key: WorkerKey, label: &str, now: Time) -> Vec<Action> {
        let label = self.label_id(label);
        let mut actions = Vec::new();
        self.loaded_ok(worker_key, label);
        let Some(worker) = self.workers.get_mut(&worker_key) else {
            return actions;
        };
        if worker.preload == Some(label) {
            self.set_preload(worker_key, None);
            if let Some(w) = self.workers.get_mut(&worker_key) {
                w.idle_since = now;
            }
        }
        let Some(worker) = self.workers.get_mut(&worker_key) else {
            return actions;
        };
        let spare = worker.labels.len() < worker.max_labels as usize;
        match worker.labels.iter_mut().find(|h| h.label == label) {
            Some(held) if held.loaded => {
                self.fill(worker_key, now, &mut actions);
                return actions;
            }
            Some(held) => held.loaded = true,
            None if spare => {
                worker.labels.push(Held {
                    label,
                    loaded: true,
                    since: now,
                    last_used: now,
                    in_flight: 0,
                });
                self.holders.entry(label).or_default().push(worker_key);
            }
            None => return actions,
        }
        self.events.push(LabelEvent {
            worker: worker_key,
            label,
            kind: LabelEventKind::Loaded,
        });
        self.fill(worker_key, now, &mut actions);
        actions
    }

    /// The worker dropped `label` on its own.
    pub fn label_evicted(&mut self, worker_key: WorkerKey, label: &str, now: Time) {
        let label = self.label_id(label);
        let Some(worker) = self.workers.get_mut(&worker_key) else {
            return;
        };
        // Tasks still running on it report back as usual; a failed load is reported
        // this way before its task's error.
        if worker.preload == Some(label) {
            // The preload failed or was undone: its slot is free again, and the worker is
            // not asked to load that label again for a while.
            let config = self.config.health.clone();
            worker.health.load_failed(label, now, &config);
            self.set_preload(worker_key, None);
        }
        let Some(worker) = self.workers.get_mut(&worker_key) else {
            return;
        };
        let before = worker.labels.len();
        worker.labels.retain(|h| h.label != label);
        if worker.labels.len() < before {
            self.unhold(worker_key, label);
        }
        self.sync_free(worker_key);
    }

    pub fn cancel(&mut self, task: TaskKey) -> Cancelled {
        if self.queue.remove(task).is_some() {
            return Cancelled::Dequeued;
        }
        // Its slot stays busy until the worker reports; that report is stale.
        match self.abandon(task) {
            Some(run) => Cancelled::Running(Action::Cancel {
                task,
                worker: run.worker,
            }),
            None => Cancelled::Unknown,
        }
    }

    /// Periodic work: expire waiting tasks past their deadline and reconsider idle workers.
    pub fn tick(&mut self, now: Time) -> Vec<Action> {
        let mut actions: Vec<Action> = self
            .queue
            .take_expired(now)
            .into_iter()
            .map(|task| Action::Fail {
                task,
                reason: Reject::DeadlineExceeded,
            })
            .collect();
        self.expire_running(now, &mut actions);
        self.fail_orphans(now, &mut actions);
        self.health_tick(now, &mut actions);
        self.dispatch_idle(now, &mut actions);
        if self.policy == Policy::Affinity {
            self.place_copies(now, &mut actions);
            for worker in self.free.as_slice().to_vec() {
                self.consider_preload(worker, now, &mut actions);
            }
        }
        actions
    }
}
