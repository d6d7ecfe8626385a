//! How the scheduler carries out its decisions on its own state: filling free slots,
//! starting tasks, making room for a label, and keeping the free list, the holders and
//! the label events in step.

use super::policy::Policy;
use super::scheduler::{Held, Scheduler};
use super::types::{Action, LabelEvent, LabelEventKind, LabelId, TaskKey, Time, WorkerKey};
use super::worker::Running;

/// Labels remembered as recently left without a holder (preload candidates).
const UNCOVERED_CAP: usize = 64;

impl Scheduler {
    /// Offers every worker with a free slot the waiting work.
    pub(super) fn dispatch_idle(&mut self, now: Time, actions: &mut Vec<Action>) {
        if self.queue.len() == 0 {
            return;
        }
        let idle: Vec<WorkerKey> = self.free.as_slice().to_vec();
        for worker in idle {
            self.fill(worker, now, actions);
        }
    }

    /// Starts waiting tasks on `worker` while it has free slots and the policy picks one.
    pub(super) fn fill(&mut self, worker: WorkerKey, now: Time, actions: &mut Vec<Action>) {
        while self
            .workers
            .get(&worker)
            .is_some_and(|w| w.free_slots() > 0)
        {
            match self.pick_for(worker, now) {
                Some((task, load)) => self.start(task, worker, load, now, actions),
                None => break,
            }
        }
        if self.policy == Policy::Affinity {
            self.consider_preload(worker, now, actions);
        }
    }

    /// Starts or ends a preload on the worker, keeping the counts in step.
    pub(super) fn set_preload(&mut self, key: WorkerKey, label: Option<LabelId>) {
        let Some(worker) = self.workers.get_mut(&key) else {
            return;
        };
        worker.preload = label;
        self.sync_free(key);
    }

    /// Keeps `free` in step with the worker's free slots after any change to them.
    pub(super) fn sync_free(&mut self, key: WorkerKey) {
        match self.workers.get(&key) {
            Some(w) if w.free_slots() > 0 => self.free.insert(key),
            _ => self.free.remove(key),
        }
    }

    /// Moves a waiting task onto `worker`, evicting a label first if it must load one.
    pub(super) fn start(
        &mut self,
        task: TaskKey,
        worker_key: WorkerKey,
        load: bool,
        now: Time,
        actions: &mut Vec<Action>,
    ) {
        let Some(waiting) = self.queue.remove(task) else {
            return;
        };
        self.fair.started(waiting.rank, now);
        let label = waiting.label;
        if load {
            self.begin_load(worker_key, label, now, actions);
        }
        let run_s = self.estimates.run_s(label, waiting.task_type);
        let load_s = if load {
            self.estimates.load_s(label)
        } else {
            0.0
        };
        let worker = self
            .workers
            .get_mut(&worker_key)
            .expect("worker chosen from the map");
        if let Some(held) = worker.labels.iter_mut().find(|h| h.label == label) {
            held.in_flight += 1;
            held.last_used = now;
        }
        worker.running.push(task);
        self.sync_free(worker_key);
        self.running.insert(
            task,
            Running {
                worker: worker_key,
                waiting,
                load,
                started: now,
                expected_end: now + load_s + run_s,
            },
        );
        actions.push(Action::Run {
            task,
            worker: worker_key,
            label,
            load,
        });
    }

    /// Makes room on the worker (evicting the policy's victim) and counts `label` as held
    /// there, loading, from now on.
    pub(super) fn begin_load(
        &mut self,
        worker_key: WorkerKey,
        label: LabelId,
        now: Time,
        actions: &mut Vec<Action>,
    ) {
        if let Some(victim) = self.victim(worker_key, now) {
            if let Some(worker) = self.workers.get_mut(&worker_key) {
                worker.labels.retain(|h| h.label != victim);
            }
            self.unhold(worker_key, victim);
            actions.push(Action::Evict {
                worker: worker_key,
                label: victim,
            });
        }
        let Some(worker) = self.workers.get_mut(&worker_key) else {
            return;
        };
        worker.labels.push(Held {
            label,
            loaded: false,
            since: now,
            last_used: now,
            in_flight: 0,
        });
        self.holders.entry(label).or_default().push(worker_key);
        self.events.push(LabelEvent {
            worker: worker_key,
            label,
            kind: LabelEventKind::Loading,
        });
    }

    pub(super) fn unhold(&mut self, worker: WorkerKey, label: LabelId) {
        if let Some(list) = self.holders.get_mut(&label) {
            list.retain(|w| *w != worker);
            if list.is_empty() {
                self.holders.remove(&label);
                if !self.uncovered.contains(&label) {
                    if self.uncovered.len() >= UNCOVERED_CAP {
                        self.uncovered.pop_front();
                    }
                    self.uncovered.push_back(label);
                }
            }
        }
        self.events.push(LabelEvent {
            worker,
            label,
            kind: LabelEventKind::Evicted,
        });
    }
}
