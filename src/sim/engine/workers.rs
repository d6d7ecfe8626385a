//! The simulated workers: each action of the scheduler carried out as a real worker
//! would (a run, a load before it, a preload, an eviction), with the checks a real worker
//! makes, so that a scheduler bug breaks the run instead of skewing its figures. A worker
//! told to misbehave (`--misbehave`) fails, hangs, fails its loads or runs slowly, as a
//! sick worker would, so the health knobs can be tuned offline.

use super::{Broken, Event, LabelMove, World};
use crate::routing::{Action, Fault, LabelId, TaskKey};
use crate::sim::Misbehaviour;
use crate::workload;

impl World<'_> {
    /// Carries out the scheduler's decisions as the workers would.
    pub(super) fn apply(&mut self, actions: Vec<Action>) -> Result<(), Broken> {
        for action in actions {
            match action {
                Action::Run {
                    task,
                    worker,
                    label,
                    load,
                } => self.run_task(task, worker.0 as usize, label, load)?,
                Action::Evict { worker, label } => {
                    self.workers[worker.0 as usize].labels.remove(&label);
                    self.moved(label, -1);
                }
                Action::Load { worker, label } => self.preload(worker.0 as usize, label)?,
                Action::Fail { task, .. } => self.fail(task),
                Action::Abandon { task, .. } => {
                    if let Some(t) = self.tasks.get(&task) {
                        self.abandoned.insert((task, t.attempts));
                    }
                }
                Action::Cancel { .. } => {}
            }
        }
        Ok(())
    }

    /// An idle worker loads a label ahead of demand, in one of its slots.
    fn preload(&mut self, worker: usize, label: LabelId) -> Result<(), Broken> {
        let (slots, max_labels) = (self.scenario.slots, self.scenario.max_labels);
        let now = self.now;
        let w = &mut self.workers[worker];
        if w.busy >= slots || w.labels.len() >= max_labels as usize || w.labels.contains_key(&label)
        {
            return Err(self.broken(format!(
                "worker {worker} told to preload with no free slot or label room, or twice"
            )));
        }
        let load_s = self.load_s(worker, label);
        let w = &mut self.workers[worker];
        w.busy += 1;
        self.loads += 1;
        if w.misbehaviour == Some(Misbehaviour::LoadFails) {
            self.schedule(now + load_s, Event::PreloadFailed { worker, label });
            return Ok(());
        }
        let w = &mut self.workers[worker];
        w.labels.insert(label, now + load_s);
        self.moved(label, 1);
        self.schedule(
            now + load_s,
            Event::LoadDone {
                worker,
                label,
                preload: true,
            },
        );
        Ok(())
    }

    fn moved(&mut self, label: LabelId, delta: i8) {
        self.moves.push(LabelMove {
            at_s: self.now / self.scenario.time_scale,
            label: self.scheduler.label_name(label).to_owned(),
            delta,
        });
    }

    /// Scaled seconds `worker` takes to load `label`: the trace's figure for the label,
    /// else a draw from the simulated distribution.
    fn load_s(&mut self, worker: usize, label: LabelId) -> f64 {
        let name = self.scheduler.label_name(label);
        let unscaled = match self.trace_load_s.get(name) {
            Some(load_s) => *load_s,
            None => workload::load_time_s(&mut self.workers[worker].rng),
        };
        unscaled * self.scenario.time_scale
    }

    fn run_task(
        &mut self,
        task: TaskKey,
        worker: usize,
        label: LabelId,
        load: bool,
    ) -> Result<(), Broken> {
        let now = self.now;
        let (slots, max_labels) = (self.scenario.slots, self.scenario.max_labels);
        let w = &self.workers[worker];
        if w.busy >= slots {
            return Err(self.broken(format!("worker {worker} given a task with no free slot")));
        }
        let (held, has_room) = (
            w.labels.get(&label).copied(),
            w.labels.len() < max_labels as usize || w.labels.contains_key(&label),
        );
        let ready = match (load, held) {
            (false, Some(ready)) => ready.max(now),
            (false, None) => {
                return Err(self.broken(format!(
                    "worker {worker} told to run {} without holding it",
                    self.scheduler.label_name(label)
                )))
            }
            (true, _) => {
                if !has_room {
                    return Err(self.broken(format!(
                        "worker {worker} told to load past its {max_labels} labels"
                    )));
                }
                let load_s = self.load_s(worker, label);
                self.loads += 1;
                self.samples.label_misses += 1;
                if let Some(t) = self.tasks.get_mut(&task) {
                    t.load_s = Some(load_s);
                }
                if self.workers[worker].misbehaviour == Some(Misbehaviour::LoadFails) {
                    self.workers[worker].busy += 1;
                    let attempt = self.next_attempt(task)?;
                    self.schedule(
                        now + load_s,
                        Event::TaskDone {
                            worker,
                            task,
                            attempt,
                            failure: Some(Fault::Load),
                        },
                    );
                    return Ok(());
                }
                self.workers[worker].labels.insert(label, now + load_s);
                self.moved(label, 1);
                self.schedule(
                    now + load_s,
                    Event::LoadDone {
                        worker,
                        label,
                        preload: false,
                    },
                );
                now + load_s
            }
        };
        self.workers[worker].busy += 1;
        let run_s = self
            .tasks
            .get(&task)
            .map(|t| t.run_s)
            .ok_or_else(|| self.broken(format!("unknown task {} started", task.0)))?;
        let attempt = self.next_attempt(task)?;
        // A failure at once takes a millisecond (scaled).
        let at_once = 0.001 * self.scenario.time_scale;
        let w = &mut self.workers[worker];
        let mut draw = |p: f64| rand::Rng::random_bool(&mut w.rng, p);
        let (ran_s, failure) = match w.misbehaviour {
            Some(Misbehaviour::Fails(p)) if draw(p) => (at_once, Some(Fault::Ambiguous)),
            Some(Misbehaviour::Faults(p)) if draw(p) => (at_once, Some(Fault::Worker)),
            Some(Misbehaviour::Hangs(p)) if draw(p) => return Ok(()),
            Some(Misbehaviour::Slow(factor)) => (run_s * factor, None),
            _ => (run_s, None),
        };
        let at = ready + ran_s;
        if let Some(t) = self.tasks.get_mut(&task) {
            t.ran_s = ran_s;
        }
        self.schedule(
            at,
            Event::TaskDone {
                worker,
                task,
                attempt,
                failure,
            },
        );
        Ok(())
    }

    /// Counts a new attempt of `task`; its number.
    fn next_attempt(&mut self, task: TaskKey) -> Result<u32, Broken> {
        match self.tasks.get_mut(&task) {
            Some(t) => {
                t.attempts += 1;
                Ok(t.attempts)
            }
            None => Err(self.broken(format!("unknown task {} started", task.0))),
        }
    }
}
