//! Time and size bounds of the routing core: running tasks past their deadline or
//! run-time limit, tasks waiting for workers that went away, the completion estimate
//! used for admission, and forgetting task types and labels nobody uses any more.
//! Pure like the rest of the core: time comes in as an argument.

use std::collections::HashSet;

use super::scheduler::Scheduler;
use super::types::{Action, LabelId, Reject, TaskKey, Time, WorkerKey};
use super::worker::Running;

impl Scheduler {
    /// Whether tasks of `task_type` may still wait for a worker that went away.
    pub(super) fn in_grace(&self, task_type: u16, now: Time) -> bool {
        now - self.type_idle_since[task_type as usize] < self.config.bounds.worker_grace_s
    }

    /// The run-time limit of each task type id.
    fn run_limits(&self) -> Vec<f64> {
        let mut limits = vec![self.config.bounds.max_run_s; self.capable.len()];
        for (name, limit) in &self.config.bounds.max_run_s_by_type {
            if let Some(id) = self.type_ids.get(name) {
                limits[*id as usize] = *limit;
            }
        }
        limits
    }

    /// Takes running tasks past their deadline or run-time limit off their workers: a
    /// task past its deadline fails; one past its limit counts a lost attempt.
    pub(super) fn expire_running(&mut self, now: Time, actions: &mut Vec<Action>) {
        let limits = self.run_limits();
        let expired: Vec<(TaskKey, bool, bool)> = self
            .running
            .iter()
            .filter_map(|(task, run)| {
                let late = run.waiting.deadline.is_some_and(|d| d <= now);
                let limit = limits
                    .get(run.waiting.task_type as usize)
                    .copied()
                    .unwrap_or(f64::INFINITY);
                let ran = now - run.started;
                // Judged once: a task already taken off a worker may just be long, and
                // `max_run_s` still bounds it.
                let stuck = run.waiting.avoid.is_none()
                    && ran >= self.stuck_after(run.waiting.label, run.waiting.task_type);
                (late || ran >= limit || stuck).then_some((*task, late, stuck))
            })
            .collect();
        for (task, late, stuck) in expired {
            let Some(run) = self.abandon(task) else {
                continue;
            };
            actions.push(Action::Abandon {
                task,
                worker: run.worker,
            });
            let mut waiting = run.waiting;
            waiting.attempts += 1;
            if stuck && !late {
                self.stuck_on(run.worker, &mut waiting);
            }
            if late {
                actions.push(Action::Fail {
                    task,
                    reason: Reject::DeadlineWhileRunning,
                });
            } else if waiting.attempts >= self.config.max_attempts {
                let attempts = waiting.attempts;
                actions.push(Action::Fail {
                    task,
                    reason: Reject::AttemptsExhausted { attempts },
                });
            } else {
                self.queue.push(task, waiting);
            }
        }
    }

    /// Takes a running task off its worker, whose slot stays busy until it reports.
    pub(super) fn abandon(&mut self, task: TaskKey) -> Option<Running> {
        let run = self.running.remove(&task)?;
        if let Some(worker) = self.workers.get_mut(&run.worker) {
            worker.running.retain(|t| *t != task);
            worker.abandoned.push(task);
            if let Some(held) = worker
                .labels
                .iter_mut()
                .find(|h| h.label == run.waiting.label)
            {
                held.in_flight = held.in_flight.saturating_sub(1);
            }
        }
        Some(run)
    }

    /// The worker reported a task that was taken off it: frees its slot. `None` when the
    /// task was not abandoned on this worker.
    pub fn release_abandoned(
        &mut self,
        worker_key: WorkerKey,
        task: TaskKey,
        now: Time,
    ) -> Option<Vec<Action>> {
        let worker = self.workers.get_mut(&worker_key)?;
        let at = worker.abandoned.iter().position(|t| *t == task)?;
        worker.abandoned.swap_remove(at);
        if worker.running.is_empty() && worker.abandoned.is_empty() && worker.preload.is_none() {
            worker.idle_since = now;
        }
        self.sync_free(worker_key);
        let mut actions = Vec::new();
        self.fill(worker_key, now, &mut actions);
        Some(actions)
    }

    /// Fails waiting tasks whose task type has had no capable worker for the grace
    /// period, and forgets task types nobody accepts or uses any more.
    pub(super) fn fail_orphans(&mut self, now: Time, actions: &mut Vec<Action>) {
        let expired: Vec<u16> = self
            .type_ids
            .values()
            .copied()
            .filter(|id| self.capable[*id as usize] == 0 && !self.in_grace(*id, now))
            .collect();
        if expired.is_empty() {
            return;
        }
        let orphans: Vec<TaskKey> = self
            .queue
            .keys()
            .filter(|t| {
                self.queue
                    .get(*t)
                    .is_some_and(|w| expired.contains(&w.task_type))
            })
            .collect();
        for task in orphans {
            let Some(waiting) = self.queue.remove(task) else {
                continue;
            };
            let task_type = self.type_name(waiting.task_type);
            actions.push(Action::Fail {
                task,
                reason: Reject::NoCapableWorker { task_type },
            });
        }
        for id in expired {
            // No worker accepts it, so nothing runs it; nothing waits for it any more.
            self.type_ids.retain(|_, v| *v != id);
            self.estimates.forget_type(id);
            self.free_types.push(id);
        }
    }

    /// Expected seconds until a task of `task_type` on `label` submitted now would finish:
    /// the wait for the best capable worker's first free slot, the load if it does not
    /// hold the label, the run, and the queue ahead spread over the capable slots. Uses
    /// measured times only: `None` before a run of the type was measured or while no
    /// capable worker is connected (nothing is refused on a guess).
    pub fn estimate_s(&self, label: &str, task_type: &str, now: Time) -> Option<f64> {
        let type_id = *self.type_ids.get(task_type)?;
        let label = self.label_ids.get(label).copied();
        let run = self.estimates.measured_run_s(label, type_id)?;
        let load = self.estimates.measured_load_s(label).unwrap_or(0.0);
        let mut best = f64::INFINITY;
        let mut slots = 0u64;
        for worker in self.workers.values().filter(|w| w.accepts(type_id)) {
            slots += u64::from(worker.slots);
            let wait = if worker.free_slots() > 0 {
                0.0
            } else {
                worker
                    .running
                    .iter()
                    .filter_map(|t| self.running.get(t))
                    .map(|r| (r.expected_end - now).max(0.0))
                    .reduce(f64::min)
                    .unwrap_or(0.0)
            };
            let holds = label.is_some_and(|l| worker.held(l).is_some());
            best = best.min(wait + if holds { 0.0 } else { load } + run);
        }
        if slots == 0 {
            return None;
        }
        Some(best + self.queue.len() as f64 * run / slots as f64)
    }

    /// Forgets labels that no worker holds and no task has used for `label_idle_s`;
    /// returns their names so the caller can drop what it keeps for them. Call it now
    /// and then (it looks at every label).
    pub fn forget_idle_labels(&mut self, now: Time) -> Vec<String> {
        let idle_s = self.config.bounds.label_idle_s;
        if !idle_s.is_finite() {
            return Vec::new();
        }
        let busy: HashSet<LabelId> = self
            .running
            .values()
            .map(|r| r.waiting.label)
            .chain(self.workers.values().filter_map(|w| w.preload))
            .collect();
        let ids: Vec<LabelId> = self.label_ids.values().copied().collect();
        let mut forgotten = Vec::new();
        for id in ids {
            let idle = !self.holders.contains_key(&id)
                && self.queue.count(id) == 0
                && !busy.contains(&id)
                && !self.plan.wants(id);
            if !idle {
                self.label_idle_since.remove(&id);
                continue;
            }
            let since = *self.label_idle_since.entry(id).or_insert(now);
            let last = self
                .estimates
                .last_arrival(id)
                .map_or(since, |a| a.max(since));
            if now - last < idle_s {
                continue;
            }
            let name = std::mem::take(&mut self.label_names[id.0 as usize]);
            self.label_ids.remove(&name);
            self.label_idle_since.remove(&id);
            self.estimates.forget_label(id);
            self.plan.forget(id);
            for worker in self.workers.values_mut() {
                worker.health.forget_label(id);
            }
            self.uncovered.retain(|l| *l != id);
            self.free_labels.push(id);
            forgotten.push(name);
        }
        forgotten
    }

    /// Labels the core knows (held, waited for, or not yet forgotten).
    pub fn known_labels(&self) -> usize {
        self.label_ids.len()
    }
}
