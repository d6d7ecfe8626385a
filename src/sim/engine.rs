//! The discrete-event loop: simulated workers and producers around the real
//! [`Scheduler`], in virtual time. One call runs one policy with one seed.
//!
//! Pure: no clock, no IO, no threads. Every random draw comes from generators seeded
//! from the seed, split so that each producer's requests (label, task type, run time,
//! think time) are the same whatever the policy: policies are compared on the same work.

use std::collections::{BinaryHeap, HashMap, HashSet};

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use super::events::{Event, Scheduled};
use super::scenario::{Arrivals, Broken, Misbehaviour, Scenario};
use super::trace::label_load_times;
use crate::report::Samples;
use crate::routing::{
    Fault, LabelId, Outcome, Policy, Scheduler, TaskKey, TaskSpec, Verdict, WorkerKey, WorkerSpec,
};
use crate::workload;

mod logged;
mod workers;

pub use logged::{simulate_logged, LabelMove, Logged};

struct SimWorker {
    rng: SmallRng,
    /// Labels held, with the time each is (or was) ready.
    labels: HashMap<LabelId, f64>,
    busy: u32,
    /// How it misbehaves, if it does.
    misbehaviour: Option<Misbehaviour>,
}

struct SimTask {
    producer: Option<usize>,
    submitted: f64,
    /// Scaled seconds it runs once its label is ready.
    run_s: f64,
    load_s: Option<f64>,
    /// Attempts started so far; each attempt's end event carries its number.
    attempts: u32,
    /// Scaled seconds its last attempt ran (longer than `run_s` on a slow worker).
    ran_s: f64,
    /// Its trace entry's tenant, if any.
    tenant: Option<String>,
}

struct Producer {
    rng: SmallRng,
}

struct World<'a> {
    scenario: &'a Scenario,
    scheduler: Scheduler,
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    now: f64,
    /// Events other than ticks still to come.
    pending: usize,
    tick_scheduled: bool,
    workers: Vec<SimWorker>,
    producers: Vec<Producer>,
    tasks: HashMap<TaskKey, SimTask>,
    next_task: u64,
    sent: usize,
    trace_rng: SmallRng,
    samples: Samples,
    loads: u64,
    first_sent: Option<f64>,
    last_done: f64,
    /// Unscaled load seconds per label name, where the trace gives them.
    trace_load_s: HashMap<String, f64>,
    moves: Vec<LabelMove>,
    /// The label whose planned copies are recorded, and its targets as they changed.
    watch: Option<String>,
    targets: Vec<(f64, u32)>,
    /// Ticks the scheduler was given.
    ticks: u64,
    /// Attempts the scheduler took off their workers: their end is only a freed slot.
    abandoned: HashSet<(TaskKey, u32)>,
}

/// Derives independent generator seeds from one seed.
fn stream(seed: u64, kind: u64, index: u64) -> SmallRng {
    let mut mix = crate::routing::SplitMix64::new(
        seed ^ kind.wrapping_mul(0xA076_1D64_78BD_642F) ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB),
    );
    SmallRng::seed_from_u64(mix.next_u64())
}

/// Runs `scenario` under `policy` with `seed`; the samples are in scaled seconds.
pub fn simulate(scenario: &Scenario, policy: Policy, seed: u64) -> Result<Samples, Broken> {
    run_world(scenario, policy, seed, None).map(World::into_samples)
}

/// How many ticks the scheduler was given in a run of `scenario`.
#[cfg(test)]
pub(super) fn ticks_given(scenario: &Scenario, policy: Policy, seed: u64) -> Result<u64, Broken> {
    run_world(scenario, policy, seed, None).map(|world| world.ticks)
}

fn run_world<'a>(
    scenario: &'a Scenario,
    policy: Policy,
    seed: u64,
    watch: Option<&str>,
) -> Result<World<'a>, Broken> {
    let scale = scenario.time_scale;
    let config = scenario.routing.time_scaled(scale);
    let mut world = World {
        scenario,
        scheduler: Scheduler::new(policy, config, RngCore::next_u64(&mut stream(seed, 1, 0))),
        heap: BinaryHeap::new(),
        seq: 0,
        now: 0.0,
        pending: 0,
        tick_scheduled: false,
        workers: (0..scenario.workers)
            .map(|i| SimWorker {
                rng: stream(seed, 2, u64::from(i)),
                labels: HashMap::new(),
                busy: 0,
                misbehaviour: scenario
                    .misbehaving
                    .iter()
                    .find(|(w, _)| *w == i)
                    .map(|(_, m)| *m),
            })
            .collect(),
        producers: Vec::new(),
        tasks: HashMap::new(),
        next_task: 0,
        sent: 0,
        trace_rng: stream(seed, 3, 0),
        samples: Samples::default(),
        loads: 0,
        first_sent: None,
        last_done: 0.0,
        trace_load_s: match &scenario.arrivals {
            Arrivals::Trace(entries) => label_load_times(entries),
            Arrivals::Closed { .. } => HashMap::new(),
        },
        moves: Vec::new(),
        watch: watch.map(str::to_owned),
        targets: vec![(0.0, 0)],
        ticks: 0,
        abandoned: HashSet::new(),
    };
    for i in 0..scenario.workers {
        let spec = WorkerSpec {
            key: WorkerKey(i),
            slots: scenario.slots,
            max_labels: scenario.max_labels,
            task_types: scenario.task_types.clone(),
            labels: Vec::new(),
        };
        let actions = world
            .scheduler
            .worker_joined(spec, 0.0)
            .map_err(|e| world.broken(format!("worker {i} refused: {e:?}")))?;
        world.apply(actions)?;
    }
    match &scenario.arrivals {
        Arrivals::Closed { producers, .. } => {
            for p in 0..*producers {
                world.producers.push(Producer {
                    rng: stream(seed, 4, p as u64),
                });
                world.schedule(0.0, Event::Wake { producer: p });
            }
        }
        Arrivals::Trace(entries) => {
            if let Some(first) = entries.first() {
                world.schedule(first.at_s * scale, Event::Arrival { index: 0 });
            }
        }
    }
    world.run()?;
    Ok(world)
}

impl World<'_> {
    fn into_samples(self) -> Samples {
        let mut samples = self.samples;
        samples.loads = Some(self.loads);
        samples.makespan_s = self.last_done - self.first_sent.unwrap_or(0.0);
        samples
    }

    fn broken(&self, message: String) -> Broken {
        Broken {
            at: self.now,
            message,
        }
    }

    fn schedule(&mut self, at: f64, event: Event) {
        match event {
            Event::Tick => self.tick_scheduled = true,
            _ => self.pending += 1,
        }
        self.seq += 1;
        self.heap.push(Scheduled {
            at,
            seq: self.seq,
            event,
        });
    }

    fn run(&mut self) -> Result<(), Broken> {
        let tick = (self.scenario.tick_s * self.scenario.time_scale).max(1e-9);
        // Ticks in a row with nothing else to come while tasks wait: the core is stuck.
        let mut idle_ticks = 0u32;
        loop {
            if !self.tick_scheduled && (self.pending > 0 || self.scheduler.queued() > 0) {
                let mut at = self.now + tick;
                // Idle virtual time: the ticks before the next event would do nothing, so
                // go straight to the first one after it, on the same grid of times.
                if let Some(next) = self
                    .heap
                    .peek()
                    .filter(|_| self.scheduler.tick_is_idle(self.now))
                {
                    while at < next.at {
                        at += tick;
                    }
                }
                self.schedule(at, Event::Tick);
            }
            let Some(next) = self.heap.pop() else {
                break;
            };
            self.now = next.at;
            match next.event {
                Event::Tick => {
                    self.tick_scheduled = false;
                    self.ticks += 1;
                    let actions = self.scheduler.tick(self.now);
                    self.apply(actions)?;
                    self.watch_target();
                    if self.pending == 0 && self.scheduler.queued() > 0 {
                        idle_ticks += 1;
                        if idle_ticks > 100_000 {
                            return Err(self.broken(format!(
                                "{} tasks wait and nothing will ever run them",
                                self.scheduler.queued()
                            )));
                        }
                    } else {
                        idle_ticks = 0;
                    }
                }
                event => {
                    self.pending -= 1;
                    self.handle(event)?;
                }
            }
            self.scheduler.take_label_events();
        }
        if !self.tasks.is_empty() {
            return Err(self.broken(format!("{} tasks never finished", self.tasks.len())));
        }
        Ok(())
    }

    fn handle(&mut self, event: Event) -> Result<(), Broken> {
        match event {
            Event::Wake { producer } => self.wake(producer),
            Event::Arrival { index } => self.arrive(index),
            Event::LoadDone {
                worker,
                label,
                preload,
            } => {
                if preload {
                    self.workers[worker].busy -= 1;
                }
                let name = self.scheduler.label_name(label).to_owned();
                let actions =
                    self.scheduler
                        .label_loaded(WorkerKey(worker as u32), &name, self.now);
                self.apply(actions)
            }
            Event::PreloadFailed { worker, label } => {
                self.workers[worker].busy -= 1;
                let name = self.scheduler.label_name(label).to_owned();
                self.scheduler
                    .label_evicted(WorkerKey(worker as u32), &name, self.now);
                Ok(())
            }
            Event::TaskDone {
                worker,
                task,
                attempt,
                failure,
            } => {
                if self.abandoned.remove(&(task, attempt)) {
                    self.workers[worker].busy -= 1;
                    let key = WorkerKey(worker as u32);
                    let actions = self
                        .scheduler
                        .release_abandoned(key, task, self.now)
                        .unwrap_or_default();
                    return self.apply(actions);
                }
                match failure {
                    None => self.task_done(worker, task),
                    Some(fault) => self.task_failed(worker, task, fault),
                }
            }
            Event::Tick => Ok(()),
        }
    }

    fn wake(&mut self, producer: usize) -> Result<(), Broken> {
        let Arrivals::Closed {
            requests, model, ..
        } = &self.scenario.arrivals
        else {
            return Ok(());
        };
        if self.sent >= *requests {
            return Ok(());
        }
        let rng = &mut self.producers[producer].rng;
        let request = model.next_request(rng);
        let run_s = workload::run_time_s(&request.task_type, rng).unwrap_or(0.0);
        self.submit(
            Some(producer),
            request.label,
            request.task_type,
            run_s,
            None,
        )
    }

    fn arrive(&mut self, index: usize) -> Result<(), Broken> {
        let Arrivals::Trace(entries) = &self.scenario.arrivals else {
            return Ok(());
        };
        let entry = &entries[index];
        if let Some(next) = entries.get(index + 1) {
            let at = next.at_s * self.scenario.time_scale;
            self.schedule(at, Event::Arrival { index: index + 1 });
        }
        let run_s = match entry.run_s {
            Some(run_s) => run_s,
            None => workload::run_time_s(&entry.task_type, &mut self.trace_rng).unwrap_or(0.0),
        };
        let tenant = entry.tenant.clone();
        self.submit(
            None,
            entry.label.clone(),
            entry.task_type.clone(),
            run_s,
            tenant,
        )
    }

    fn submit(
        &mut self,
        producer: Option<usize>,
        label: String,
        task_type: String,
        run_s: f64,
        tenant: Option<String>,
    ) -> Result<(), Broken> {
        // Every tenant a trace names is in the scenario (see `SimulateArgs::scenario`).
        let share = tenant.as_deref().map_or_else(Default::default, |name| {
            let tenants = &self.scenario.tenants;
            tenants
                .iter()
                .find(|(n, _)| n == name)
                .map_or_else(Default::default, |(_, share)| *share)
        });
        let key = TaskKey(self.next_task);
        self.next_task += 1;
        self.sent += 1;
        self.samples.requests += 1;
        self.first_sent.get_or_insert(self.now);
        self.tasks.insert(
            key,
            SimTask {
                producer,
                submitted: self.now,
                run_s: run_s * self.scenario.time_scale,
                load_s: None,
                attempts: 0,
                ran_s: 0.0,
                tenant,
            },
        );
        let spec = TaskSpec {
            key,
            label,
            task_type,
            deadline: None,
            share,
        };
        match self.scheduler.submit(spec, self.now) {
            Ok(actions) => self.apply(actions),
            Err(_) => {
                self.fail(key);
                Ok(())
            }
        }
    }

    /// The request failed: its producer hears at once and moves on.
    fn fail(&mut self, task: TaskKey) {
        self.samples.failed += 1;
        self.last_done = self.last_done.max(self.now);
        if let Some(t) = self.tasks.remove(&task) {
            self.producer_done(t.producer);
        }
    }

    fn producer_done(&mut self, producer: Option<usize>) {
        let (Some(p), Arrivals::Closed { model, .. }) = (producer, &self.scenario.arrivals) else {
            return;
        };
        let think = model.think_s(&mut self.producers[p].rng) * self.scenario.time_scale;
        self.schedule(self.now + think, Event::Wake { producer: p });
    }

    fn task_done(&mut self, worker: usize, task: TaskKey) -> Result<(), Broken> {
        let t = self
            .tasks
            .remove(&task)
            .ok_or_else(|| self.broken(format!("task {} finished twice", task.0)))?;
        self.workers[worker].busy -= 1;
        let outcome = Outcome {
            load_s: t.load_s,
            run_s: t.ran_s,
        };
        self.samples
            .task_runtimes_s
            .push(t.load_s.unwrap_or(0.0) + t.ran_s);
        self.samples.latencies_s.push(self.now - t.submitted);
        if let Some(tenant) = t.tenant {
            let latency = self.now - t.submitted;
            self.samples
                .tenant_latencies_s
                .entry(tenant)
                .or_default()
                .push(latency);
        }
        self.last_done = self.last_done.max(self.now);
        self.producer_done(t.producer);
        let actions = self
            .scheduler
            .task_finished(WorkerKey(worker as u32), task, outcome, self.now)
            .map_err(|e| self.broken(format!("task_finished refused: {e:?}")))?;
        self.apply(actions)
    }

    /// An attempt failed on a misbehaving worker: the core retries the task elsewhere or
    /// fails it.
    fn task_failed(&mut self, worker: usize, task: TaskKey, fault: Fault) -> Result<(), Broken> {
        self.workers[worker].busy -= 1;
        let (actions, verdict) = self
            .scheduler
            .task_failed(WorkerKey(worker as u32), task, fault, self.now)
            .map_err(|e| self.broken(format!("task_failed refused: {e:?}")))?;
        if let Some(t) = self.tasks.get_mut(&task) {
            t.load_s = None;
        }
        // A failed load is the label's: a `Fail` among the actions ends the task.
        if verdict == Verdict::Failed && fault != Fault::Load {
            self.fail(task);
        }
        self.apply(actions)
    }
}
