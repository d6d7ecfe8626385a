//! The routing policies: where a new task goes, and what a worker with a free slot takes
//! next. The affinity policy's cost model (waits, patience, the cost of a load, the
//! label to give up) is in `cost.rs`.

use std::cmp::Reverse;

use super::scheduler::Scheduler;
use super::types::{LabelId, TaskKey, Time, WorkerKey};

/// Selectable with `serve --policy` and `simulate --policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Cost-aware: run where the label is held, or load it elsewhere when that finishes
    /// sooner than waiting.
    Affinity,
    /// The original dispatcher: a free holder at random, else a free worker with spare
    /// label capacity, else the common queue taken by the first worker to free up.
    Original,
    /// The original's RANDOM_DISPATCH: any free worker, labels ignored.
    Random,
    /// The free worker running the fewest tasks; holders win ties.
    LeastLoaded,
}

impl Policy {
    pub const ALL: [Policy; 4] = [
        Policy::Affinity,
        Policy::Original,
        Policy::Random,
        Policy::LeastLoaded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::Affinity => "affinity",
            Policy::Original => "original",
            Policy::Random => "random",
            Policy::LeastLoaded => "least-loaded",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown policy '{s}' (expected affinity, original, random or least-loaded)"
                )
            })
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Scheduler {
    /// Where a just-queued task should start now, if anywhere: `(worker, must load)`.
    pub(super) fn place(&mut self, task: TaskKey, now: Time) -> Option<(WorkerKey, bool)> {
        let waiting = self.queue.get(task)?;
        let (label, task_type, avoid) = (waiting.label, waiting.task_type, waiting.avoid);
        match self.policy {
            Policy::Affinity => return self.place_affinity(task, now),
            Policy::Original => {
                let holders: Vec<WorkerKey> = self
                    .free_holders(label, task_type)
                    .filter(|w| !self.avoids(*w, avoid, task_type))
                    .collect();
                if !holders.is_empty() {
                    return Some((self.pick_random(&holders), false));
                }
            }
            Policy::Random | Policy::LeastLoaded => {}
        }
        let free: Vec<WorkerKey> = self
            .probe_free(task_type)
            .into_iter()
            .filter(|w| !self.avoids(*w, avoid, task_type))
            .filter(|w| {
                let worker = &self.workers[w];
                worker.held(label).is_some_and(|h| h.loaded)
                    || (worker.held(label).is_none()
                        && worker.may_load(label, now)
                        && (worker.has_spare() || self.victim(*w, now).is_some()))
            })
            .collect();
        if free.is_empty() {
            return None;
        }
        let holds =
            |s: &Scheduler, w: &WorkerKey| s.workers[w].held(label).is_some_and(|h| h.loaded);
        match self.policy {
            Policy::Random => Some(self.pick_random(&free)).map(|w| (w, !holds(self, &w))),
            Policy::LeastLoaded => {
                let best = free.iter().copied().min_by_key(|w| {
                    let worker = &self.workers[w];
                    (worker.running.len() * 2 + usize::from(!holds(self, w)), w.0)
                })?;
                Some((best, !holds(self, &best)))
            }
            _ => {
                // Original: a free worker with label room, else the common queue, which
                // an idle worker takes at once, loading (LRU victim).
                let spare: Vec<WorkerKey> = free
                    .iter()
                    .copied()
                    .filter(|w| self.workers[w].has_spare())
                    .collect();
                let among = if spare.is_empty() { &free } else { &spare };
                Some((self.pick_random(among), true))
            }
        }
    }

    /// Affinity: a free holder, else a load on the free worker where it costs least, but
    /// only when waiting for a holder would take longer than the task's patience.
    fn place_affinity(&mut self, task: TaskKey, now: Time) -> Option<(WorkerKey, bool)> {
        let waiting = self.queue.get(task)?;
        let (label, task_type, avoid) = (waiting.label, waiting.task_type, waiting.avoid);
        if let Some(best) = self
            .free_holders(label, task_type)
            .filter(|w| !self.avoids(*w, avoid, task_type))
            .max_by_key(|w| (self.workers[w].free_slots(), std::cmp::Reverse(w.0)))
        {
            return Some((best, false));
        }
        if self.holders.contains_key(&label) {
            self.plan.blocked(label, now);
        }
        if self.free.len() == 0 {
            return None;
        }
        let ahead = self.queue.count(label).saturating_sub(1);
        let wait = self.wait_s(waiting, ahead, now);
        // Patience is never below its base: no need to price a load. And a load already
        // under way on a holder with room ends sooner than a new one would.
        if wait <= self.base_patience(label) || self.loading_with_room(label, task_type) {
            return None;
        }
        let free: Vec<WorkerKey> = self
            .probe_free(task_type)
            .into_iter()
            .filter(|w| {
                let worker = &self.workers[w];
                worker.held(label).is_none()
                    && worker.may_load(label, now)
                    && !self.avoids(*w, avoid, task_type)
            })
            .collect();
        let (cost, target) = self.best_load_target(&free, now)?;
        (wait > self.patience(label, task_type, cost)).then_some((target, true))
    }

    /// What `worker`, which has a free slot, should start next: `(task, must load)`.
    pub(super) fn pick_for(&mut self, worker_key: WorkerKey, now: Time) -> Option<(TaskKey, bool)> {
        let worker = self.workers.get(&worker_key)?;
        if self.queue.len() == 0 {
            return None;
        }
        let can_load = self.victim(worker_key, now).is_some() || worker.has_spare();
        let probe = self.config.probe;
        if self.policy != Policy::Affinity {
            // The common queue, first come first served.
            return self
                .queue
                .ordered()
                .filter(|(_, w)| self.takes(worker_key, w))
                .take(probe)
                .map(|(task, w)| {
                    let load = !worker.held(w.label).is_some_and(|h| h.loaded);
                    (task, load, worker.may_load(w.label, now))
                })
                .find(|(_, load, may)| !load || (can_load && *may))
                .map(|(task, load, _)| (task, load));
        }
        // 1. A task that has waited too long is served first, wherever its label is: the
        //    first in order once it waited past its bound; the longest waiting of its
        //    priority once it waited that much longer than the first; and the longest
        //    waiting of a lower priority once no task of its priority started for as
        //    long (so every priority gets at least one start per bound, and a higher
        //    one keeps the rest).
        let oldest = self
            .queue
            .by_arrival()
            .find(|(_, w)| self.takes(worker_key, w));
        // With one tenant the first in order is the longest waiting.
        let first = match oldest {
            Some(_) if self.queue.is_mixed() => self
                .queue
                .ordered()
                .find(|(_, w)| self.takes(worker_key, w))
                .filter(|(task, _)| oldest.is_some_and(|(o, _)| o != *task)),
            _ => None,
        };
        for (task, waiting, behind) in oldest
            .map(|(t, w)| (t, w, first.map(|(_, f)| f)))
            .into_iter()
            .chain(first.map(|(t, w)| (t, w, None)))
        {
            let bound = self.config.starvation_factor
                * (self.estimates.load_s(waiting.label)
                    + self.estimates.run_s(waiting.label, waiting.task_type));
            let waited = now - waiting.enqueued_at;
            let starving = match behind {
                None => waited > bound,
                Some(first) if first.rank.band == waiting.rank.band => {
                    waited > bound + (now - first.enqueued_at)
                }
                Some(_) => {
                    waited > bound && now - self.fair.band_started(waiting.rank.band) > bound
                }
            };
            let held = worker.held(waiting.label).is_some_and(|h| h.loaded);
            let loadable = can_load && worker.may_load(waiting.label, now);
            if starving && (held || loadable) {
                return Some((task, !held));
            }
        }
        // 2. The first task for a label this worker holds, of the highest priority that
        //    waits for this worker (a lower one only once no load is worth it, in 4).
        let top = if self.queue.has_bands() {
            first.or(oldest).map(|(_, w)| w.rank.band)
        } else {
            None
        };
        let held_best = self.held_head(worker_key);
        match held_best {
            Some((task, band)) if top.is_none_or(|top| band == top) => return Some((task, false)),
            _ => {}
        }
        // 3. A load, for the top band only when this worker holds work of a lower one.
        let only = held_best.and(top);
        let load = self.load_for_waiting(worker_key, only, now);
        // 4. Work of a lower priority this worker holds, rather than idling.
        load.or(held_best.map(|(task, _)| (task, false)))
    }

    /// The first waiting task of a label `worker_key` holds, with its band.
    fn held_head(&self, worker_key: WorkerKey) -> Option<(TaskKey, Reverse<i32>)> {
        self.workers[&worker_key]
            .labels
            .iter()
            .filter(|h| h.loaded)
            .filter_map(|h| self.queue.head(h.label))
            .filter(|(_, w)| self.takes(worker_key, w))
            .min_by_key(|(_, w)| w.rank)
            .map(|(task, w)| (task, w.rank.band))
    }

    /// Step 3 of `pick_for`: load a label for the first task (of band `only`, if given)
    /// that finishes sooner that way than by waiting for its holders (one with no holder
    /// at all always does). A label is judged by the last of its waiting tasks, so a
    /// backlog behind busy holders gets another copy (replication of hot labels).
    fn load_for_waiting(
        &self,
        worker_key: WorkerKey,
        only: Option<Reverse<i32>>,
        now: Time,
    ) -> Option<(TaskKey, bool)> {
        let probe = self.config.probe;
        let cost = self.load_cost(worker_key, now)?;
        let worker = &self.workers[&worker_key];
        let mut seen: Vec<LabelId> = Vec::with_capacity(probe);
        self.queue
            .ordered()
            .take_while(|(_, w)| only.is_none_or(|band| w.rank.band == band))
            .take(probe.saturating_mul(8))
            .filter(|(_, w)| {
                self.takes(worker_key, w)
                    && worker.held(w.label).is_none()
                    && worker.may_load(w.label, now)
            })
            .filter(|(_, w)| {
                let new = !seen.contains(&w.label);
                if new {
                    seen.push(w.label);
                }
                new
            })
            .take(probe)
            .filter(|(_, w)| !self.loading_with_room(w.label, w.task_type))
            .find(|(_, w)| {
                let behind = self.queue.count(w.label).saturating_sub(1);
                self.wait_s(w, behind, now) > self.patience(w.label, w.task_type, cost)
            })
            .map(|(task, _)| (task, true))
    }

    /// Whether `worker` may run the waiting task: it accepts its type, and the task did
    /// not fail there (unless no other worker can run it).
    fn takes(&self, worker: WorkerKey, waiting: &super::queue::Waiting) -> bool {
        self.workers[&worker].accepts(waiting.task_type)
            && !self.avoids(worker, waiting.avoid, waiting.task_type)
    }

    /// Workers holding `label` (loaded) with a free slot and accepting the task type.
    fn free_holders(&self, label: LabelId, task_type: u16) -> impl Iterator<Item = WorkerKey> + '_ {
        self.holders
            .get(&label)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |w| {
                let worker = &self.workers[w];
                worker.free_slots() > 0
                    && worker.accepts(task_type)
                    && worker.held(label).is_some_and(|h| h.loaded)
            })
    }

    /// Up to `probe` free workers that accept the task type, from a random offset.
    fn probe_free(&mut self, task_type: u16) -> Vec<WorkerKey> {
        let n = self.free.len();
        if n == 0 {
            return Vec::new();
        }
        let start = self.rng.below(n);
        let probe = self.config.probe;
        (0..n)
            .map(|i| self.free.get((start + i) % n))
            .filter(|w| self.workers[w].accepts(task_type))
            .take(probe)
            .collect()
    }

    fn pick_random(&mut self, among: &[WorkerKey]) -> WorkerKey {
        among[self.rng.below(among.len())]
    }
}
