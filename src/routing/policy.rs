//! The routing policies: where a new task goes, what a worker with a free slot takes
//! next, and which label a worker gives up to load another.

use super::queue::Waiting;
use super::scheduler::{Scheduler, Worker};

/// Older tasks of a holder's other labels counted at most, per label, in a wait estimate.
const OWED_CAP: usize = 16;
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
        let (label, task_type) = (waiting.label, waiting.task_type);
        match self.policy {
            Policy::Affinity => return self.place_affinity(task, now),
            Policy::Original => {
                let holders: Vec<WorkerKey> = self.free_holders(label, task_type).collect();
                if !holders.is_empty() {
                    return Some((self.pick_random(&holders), false));
                }
            }
            Policy::Random | Policy::LeastLoaded => {}
        }
        let free: Vec<WorkerKey> = self
            .probe_free(task_type)
            .into_iter()
            .filter(|w| {
                let worker = &self.workers[w];
                worker.held(label).is_some_and(|h| h.loaded)
                    || (worker.held(label).is_none()
                        && (has_spare(worker) || self.victim(*w, now).is_some()))
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
                    .filter(|w| has_spare(&self.workers[w]))
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
        let (label, task_type) = (waiting.label, waiting.task_type);
        if let Some(best) = self
            .free_holders(label, task_type)
            .max_by_key(|w| (self.workers[w].free_slots(), std::cmp::Reverse(w.0)))
        {
            return Some((best, false));
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
            .filter(|w| self.workers[w].held(label).is_none())
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
        let can_load = self.victim(worker_key, now).is_some() || has_spare(worker);
        let probe = self.config.probe;
        if self.policy != Policy::Affinity {
            // The common queue, first come first served.
            return self
                .queue
                .oldest()
                .filter(|(_, w)| worker.accepts(w.task_type))
                .take(probe)
                .map(|(task, w)| (task, !worker.held(w.label).is_some_and(|h| h.loaded)))
                .find(|(_, load)| !load || can_load);
        }
        // 1. A task that has waited too long is served first, wherever its label is.
        if let Some((task, waiting)) = self
            .queue
            .oldest()
            .find(|(_, w)| worker.accepts(w.task_type))
        {
            let bound = self.config.starvation_factor
                * (self.estimates.load_s(waiting.label)
                    + self.estimates.run_s(waiting.label, waiting.task_type));
            let held = worker.held(waiting.label).is_some_and(|h| h.loaded);
            if now - waiting.enqueued_at > bound && (held || can_load) {
                return Some((task, !held));
            }
        }
        // 2. The oldest task for a label this worker holds.
        let held_best = worker
            .labels
            .iter()
            .filter(|h| h.loaded)
            .filter_map(|h| self.queue.head(h.label))
            .filter(|(_, w)| worker.accepts(w.task_type))
            .min_by_key(|(_, w)| w.seq);
        if let Some((task, _)) = held_best {
            return Some((task, false));
        }
        let cost = self.load_cost(worker_key, now)?;
        let worker = &self.workers[&worker_key];
        // 3. Otherwise load a label for the oldest task that finishes sooner that way than
        //    by waiting for its holders (one with no holder at all always does). A label
        //    is judged by the last of its waiting tasks, so a backlog behind busy holders
        //    gets another copy (replication of hot labels).
        let mut seen: Vec<LabelId> = Vec::with_capacity(probe);
        self.queue
            .oldest()
            .take(probe.saturating_mul(8))
            .filter(|(_, w)| worker.accepts(w.task_type) && worker.held(w.label).is_none())
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

    /// Expected seconds until `task`, with `ahead` tasks for its label before it, could
    /// start on a worker already holding (or loading) the label: the soonest a holder
    /// frees a slot, after the older tasks it owes its other labels, plus the label's own
    /// backlog (at the label's own run time) spread over its holders. Infinite with no
    /// holder.
    pub(super) fn wait_s(&self, task: &Waiting, ahead: usize, now: Time) -> f64 {
        let (label, task_type, seq) = (task.label, task.task_type, task.seq);
        let Some(holders) = self.holders.get(&label) else {
            return f64::INFINITY;
        };
        let mean_run = self.estimates.mean_run_s();
        let mut earliest = f64::INFINITY;
        let mut slots = 0u32;
        for key in holders {
            let worker = &self.workers[key];
            if !worker.accepts(task_type) {
                continue;
            }
            slots += worker.slots;
            let mut free_at = if worker.free_slots() > 0 {
                now
            } else {
                worker
                    .running
                    .iter()
                    .map(|t| {
                        let run = &self.running[t];
                        // An overrunning task still has some way to go.
                        run.expected_end
                            .max(now + 0.1 * (run.expected_end - run.started))
                    })
                    .chain(worker.preload.and_then(|l| {
                        // A preload frees its slot once loaded.
                        let held = worker.held(l)?;
                        Some((held.since + self.estimates.load_s(l)).max(now))
                    }))
                    .fold(f64::INFINITY, f64::min)
            };
            if let Some(held) = worker.held(label).filter(|h| !h.loaded) {
                free_at = free_at.max(held.since + self.estimates.load_s(label));
            }
            let owed: usize = worker
                .labels
                .iter()
                .filter(|h| h.label != label && h.loaded)
                .map(|h| self.queue.count_before(h.label, seq, OWED_CAP))
                .sum();
            let free_at = free_at + owed as f64 * mean_run / f64::from(worker.slots);
            earliest = earliest.min(free_at);
        }
        if slots == 0 {
            return f64::INFINITY;
        }
        (earliest - now) + ahead as f64 * self.estimates.label_run_s(label) / f64::from(slots)
    }

    /// How long a task may wait for a holder before loading its label elsewhere is
    /// better: the base patience, plus the reload `cost` that loading would cause others,
    /// but only as far as the task stays within what a miss costs the slowest task type
    /// (so long tasks, which make the latency tail, never wait for that reason), and by
    /// no more than its own run time (so a short task, whose latency sits at the median,
    /// never more than doubles its run waiting to spare someone else a reload).
    ///
    /// While a holder is loading the label, patience is at least a load time: a new load
    /// elsewhere cannot be ready before the one under way, so it pays only when the
    /// backlog behind that load would take longer than a whole load.
    fn patience(&self, label: LabelId, task_type: u16, cost: f64) -> f64 {
        let run = self.estimates.run_s(label, task_type);
        let slack = (self.estimates.max_run_s() - run).max(0.0).min(run);
        let patience = self.base_patience(label) + (self.config.reload_weight * cost).min(slack);
        if self.loading(label, task_type) {
            patience.max(self.estimates.load_s(label))
        } else {
            patience
        }
    }

    /// The wait for a holder every task accepts, whatever a load would cost others:
    /// `patience_loads` load times of its label.
    pub(super) fn base_patience(&self, label: LabelId) -> f64 {
        self.config.patience_loads * self.estimates.load_s(label)
    }

    /// The free worker where loading a label costs the others least: `(cost, worker)`.
    fn best_load_target(&self, free: &[WorkerKey], now: Time) -> Option<(f64, WorkerKey)> {
        free.iter()
            .filter_map(|w| Some((self.load_cost(*w, now)?, *w)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
    }

    /// Expected seconds that loading one more label on `worker` costs later tasks: the
    /// reload its victim will need. `None` when it cannot load at all.
    pub(super) fn load_cost(&self, worker_key: WorkerKey, now: Time) -> Option<f64> {
        let worker = self.workers.get(&worker_key)?;
        if has_spare(worker) {
            return Some(0.0);
        }
        let victim = self.victim(worker_key, now)?;
        Some(self.reload_cost(victim, now))
    }

    /// Expected seconds of reload that dropping `label` from one holder causes: its load
    /// time weighted by the chance it is asked for again within the horizon, shared
    /// among its holders (the others keep serving it).
    fn reload_cost(&self, label: LabelId, now: Time) -> f64 {
        let holders = self.holders.get(&label).map_or(1, Vec::len).max(1);
        let demand = self.estimates.demand(label, now);
        let p = if self.queue.count(label) > 0 {
            1.0
        } else {
            let horizon = self.config.reload_horizon_loads * self.estimates.load_s(label);
            1.0 - (-demand * horizon).exp()
        };
        // With other holders left, only the share of its demand this copy served is lost.
        p * self.estimates.load_s(label) / holders as f64
    }

    /// The label `worker` should drop to make room, or `None` when it has room or none
    /// can go (all in use, or, for `affinity`, still under the churn floor).
    pub(super) fn victim(&self, worker_key: WorkerKey, now: Time) -> Option<LabelId> {
        let worker = self.workers.get(&worker_key)?;
        if has_spare(worker) {
            return None;
        }
        let evictable = worker
            .labels
            .iter()
            .filter(|h| h.loaded && h.in_flight == 0);
        if self.policy != Policy::Affinity {
            return evictable
                .min_by(|a, b| a.last_used.total_cmp(&b.last_used))
                .map(|h| h.label);
        }
        evictable
            .filter(|h| now - h.since >= self.config.churn_factor * self.estimates.load_s(h.label))
            .map(|h| (self.keep_score(h.label, now), h.last_used, h.label))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)))
            .map(|(_, _, label)| label)
    }

    /// How much keeping `label` on one of its holders is worth: tasks waiting for it plus
    /// those expected while it would reload, shared among its holders.
    fn keep_score(&self, label: LabelId, now: Time) -> f64 {
        let holders = self.holders.get(&label).map_or(1, Vec::len).max(1) as f64;
        let expected = self.queue.count(label) as f64
            + self.estimates.demand(label, now) * self.estimates.load_s(label);
        expected / holders
    }

    /// Whether a worker that accepts the task type is loading `label`.
    fn loading(&self, label: LabelId, task_type: u16) -> bool {
        self.loaders(label, task_type).next().is_some()
    }

    /// Whether a worker that accepts the task type is loading `label` and has a slot
    /// free for a task once it is loaded (concurrent misses share that load).
    fn loading_with_room(&self, label: LabelId, task_type: u16) -> bool {
        self.loaders(label, task_type).any(|w| w.free_slots() > 0)
    }

    /// Workers loading `label` that accept the task type.
    fn loaders(&self, label: LabelId, task_type: u16) -> impl Iterator<Item = &Worker> + '_ {
        self.holders
            .get(&label)
            .into_iter()
            .flatten()
            .map(|w| &self.workers[w])
            .filter(move |w| w.accepts(task_type) && w.held(label).is_some_and(|h| !h.loaded))
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

fn has_spare(worker: &Worker) -> bool {
    worker.labels.len() < worker.max_labels as usize
}
