//! Failed attempts: whose fault they are and what follows. A failed load is the label's
//! trouble on that worker, not the task's: the task waits again, the worker backs off
//! that label, and a label no serving worker can load fails its tasks. A failure the
//! worker does not explain is retried once on another worker within the retry budget: a
//! success there makes it the first worker's own failure (its health counts it), a
//! second failure makes it the task's (nobody's health counts it), so bad input never
//! ejects a healthy worker. A failure the worker says is its own counts at once. A task
//! running far longer than its label and type ever took is stuck: a lost attempt,
//! retried elsewhere, suspected like an unexplained failure.

use std::collections::BTreeSet;

use super::scheduler::{Misreport, Scheduler};
use super::types::{Action, Fault, LabelId, Reject, TaskKey, Time, Verdict, WorkerKey};
use super::worker::Running;

/// Runs of a label and task type measured before a task of them can be judged stuck.
pub const STUCK_SAMPLES: u32 = 20;

impl Scheduler {
    /// The worker reported that `task` failed, and whose fault it says that is.
    pub fn task_failed(
        &mut self,
        worker: WorkerKey,
        task: TaskKey,
        fault: Fault,
        now: Time,
    ) -> Result<(Vec<Action>, Verdict), Misreport> {
        match self.running.get(&task) {
            Some(run) if run.worker == worker => {}
            _ => return Err(Misreport::NotAssigned),
        }
        let run = self.running.remove(&task).expect("checked above");
        self.release(worker, task, &run, fault == Fault::Load, now);
        let mut waiting = run.waiting;
        let label = waiting.label;
        let mut actions = Vec::new();
        let verdict = match fault {
            Fault::Load => {
                let config = self.config.health.clone();
                if let Some(w) = self.workers.get_mut(&worker) {
                    w.health.load_failed(label, now, &config);
                }
                self.queue.push(task, waiting);
                self.fail_unloadable(label, now, &mut actions);
                if self.queue.contains(task) {
                    Verdict::Retried
                } else {
                    Verdict::Failed
                }
            }
            Fault::Worker | Fault::Ambiguous => {
                if fault == Fault::Worker {
                    self.health_failure(worker, now);
                }
                let elsewhere_too = waiting.suspect.is_some_and(|s| s != worker);
                if elsewhere_too {
                    // Failed on two workers: the task's fault, neither worker's.
                    Verdict::Failed
                } else if waiting.retries < self.config.health.retry_failed
                    && self.capable_elsewhere(worker, waiting.task_type)
                    && self.budget.withdraw(now)
                {
                    waiting.retries += 1;
                    waiting.avoid = Some(worker);
                    waiting.suspect = (fault == Fault::Ambiguous).then_some(worker);
                    self.queue.push(task, waiting);
                    Verdict::Retried
                } else {
                    Verdict::Failed
                }
            }
        };
        self.fill(worker, now, &mut actions);
        self.dispatch_idle(now, &mut actions);
        Ok((actions, verdict))
    }

    /// Frees the slot a failed attempt held; a failed load leaves the label unheld.
    fn release(
        &mut self,
        key: WorkerKey,
        task: TaskKey,
        run: &Running,
        load_failed: bool,
        now: Time,
    ) {
        let label = run.waiting.label;
        let Some(worker) = self.workers.get_mut(&key) else {
            return;
        };
        worker.running.retain(|t| *t != task);
        if worker.running.is_empty() && worker.preload.is_none() {
            worker.idle_since = now;
        }
        let mut unheld = false;
        if let Some(at) = worker.labels.iter().position(|h| h.label == label) {
            let held = &mut worker.labels[at];
            held.in_flight = held.in_flight.saturating_sub(1);
            if load_failed && !held.loaded && held.in_flight == 0 {
                worker.labels.remove(at);
                unheld = true;
            }
        }
        if unheld {
            self.unhold(key, label);
        }
        self.sync_free(key);
    }

    /// Whether a serving worker other than `worker` accepts `task_type`.
    fn capable_elsewhere(&self, worker: WorkerKey, task_type: u16) -> bool {
        self.workers
            .iter()
            .any(|(k, w)| *k != worker && w.serving() && w.accepts(task_type))
    }

    /// Whether a task should not start on `worker`: it failed there, and another serving
    /// worker can run it (one ejected since does not count, so the task never waits for
    /// its probe).
    pub(super) fn avoids(
        &self,
        worker: WorkerKey,
        avoid: Option<WorkerKey>,
        task_type: u16,
    ) -> bool {
        avoid == Some(worker)
            && self.capable[task_type as usize] > 1
            && self.capable_elsewhere(worker, task_type)
    }

    /// Fails the waiting tasks of `label` that no serving worker able to run them can
    /// load now (each has failed to load it lately) or holds.
    pub(super) fn fail_unloadable(&mut self, label: LabelId, now: Time, actions: &mut Vec<Action>) {
        let doomed: Vec<TaskKey> = self
            .queue
            .ordered()
            .filter(|(_, w)| w.label == label)
            .filter(|(_, w)| {
                let mut able = self
                    .workers
                    .values()
                    .filter(|worker| worker.serving() && worker.accepts(w.task_type))
                    .peekable();
                able.peek().is_some()
                    && able.all(|worker| {
                        !worker.may_load(label, now)
                            && !worker.held(label).is_some_and(|h| h.loaded)
                    })
            })
            .map(|(task, _)| task)
            .collect();
        if doomed.is_empty() {
            return;
        }
        let name = self.label_name(label).to_owned();
        for task in doomed {
            self.queue.remove(task);
            actions.push(Action::Fail {
                task,
                reason: Reject::LoadFailed {
                    label: name.clone(),
                },
            });
        }
    }

    /// Periodic: ejections whose time is up, and labels that cannot be loaded anywhere.
    pub(super) fn health_tick(&mut self, now: Time, actions: &mut Vec<Action>) {
        self.end_ejections(now);
        let backed_off: BTreeSet<LabelId> = self
            .workers
            .values()
            .flat_map(|w| w.health.backed_off(now))
            .collect();
        for label in backed_off {
            self.fail_unloadable(label, now, actions);
        }
    }

    /// How long a task of `label` and `task_type` may run before it is stuck.
    pub(super) fn stuck_after(&self, label: LabelId, task_type: u16) -> f64 {
        let health = &self.config.health;
        match self.estimates.longest_run_s(label, task_type) {
            Some((longest, runs)) if runs >= STUCK_SAMPLES => {
                (health.stuck_factor * longest).max(health.stuck_floor_s)
            }
            _ => f64::INFINITY,
        }
    }

    /// A stuck task was taken off `worker`: it is suspected, and runs elsewhere if it can.
    pub(super) fn stuck_on(&self, worker: WorkerKey, waiting: &mut super::queue::Waiting) {
        waiting.avoid = Some(worker);
        waiting.suspect = Some(worker);
    }

    /// A label it held that finished loading: its backoff, if any, is over.
    pub(super) fn loaded_ok(&mut self, worker: WorkerKey, label: LabelId) {
        if let Some(w) = self.workers.get_mut(&worker) {
            w.health.load_succeeded(label);
        }
    }
}
