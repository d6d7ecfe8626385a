//! The affinity policy's cost model: how long a task would wait for a holder of its
//! label, how long it is willing to, what loading the label elsewhere costs the other
//! labels, and which label a worker gives up.

use super::planned::Need;
use super::policy::Policy;
use super::queue::Waiting;
use super::scheduler::{Scheduler, Worker};
use super::share::Rank;
use super::types::{LabelId, Time, WorkerKey};

/// Older tasks of a holder's other labels counted at most, per label, in a wait estimate.
const OWED_CAP: usize = 16;

impl Scheduler {
    /// Expected seconds until `task`, with `ahead` tasks for its label before it, could
    /// start on a worker already holding (or loading) the label: the soonest a holder
    /// frees a slot, after its share of the older tasks of its other labels, plus the
    /// label's own backlog (at the label's own run time) spread over its holders.
    /// Infinite with no holder.
    pub(super) fn wait_s(&self, task: &Waiting, ahead: usize, now: Time) -> f64 {
        let (label, task_type, rank) = (task.label, task.task_type, task.rank);
        let Some(holders) = self.holders.get(&label) else {
            return f64::INFINITY;
        };
        let mut earliest = f64::INFINITY;
        let mut slots = 0u32;
        for key in holders {
            let worker = &self.workers[key];
            // An ejected holder frees no slot for it.
            if !worker.accepts(task_type) || !worker.serving() {
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
            let owed: f64 = worker
                .labels
                .iter()
                .filter(|h| h.label != label && h.loaded)
                .map(|h| self.owed_s(h.label, rank))
                .sum();
            let free_at = free_at + owed / f64::from(worker.slots);
            earliest = earliest.min(free_at);
        }
        if slots == 0 {
            return f64::INFINITY;
        }
        (earliest - now) + ahead as f64 * self.estimates.label_run_s(label) / f64::from(slots)
    }

    /// Seconds of `label`'s tasks served before `rank` that one of its holders owes
    /// before it turns to another label: they are shared among the label's holders, at
    /// the label's own run time.
    fn owed_s(&self, label: LabelId, rank: Rank) -> f64 {
        let older = self.queue.count_before(label, rank, OWED_CAP) as f64;
        older * self.estimates.label_run_s(label) / self.sharers(label)
    }

    /// How many workers share `label`'s work: its holders (loading ones included), at
    /// least 1.
    pub(super) fn sharers(&self, label: LabelId) -> f64 {
        self.holders.get(&label).map_or(1, Vec::len).max(1) as f64
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
    pub(super) fn patience(&self, label: LabelId, task_type: u16, cost: f64) -> f64 {
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
        let target = self.plan.enforced(label);
        let loads = if target > 0 && self.copies(label) >= target {
            self.config
                .placement
                .patience_at_target_loads
                .max(self.config.patience_loads)
        } else {
            self.config.patience_loads
        };
        loads * self.estimates.load_s(label)
    }

    /// The free worker where loading a label costs the others least: `(cost, worker)`.
    pub(super) fn best_load_target(
        &self,
        free: &[WorkerKey],
        now: Time,
    ) -> Option<(f64, WorkerKey)> {
        free.iter()
            .filter_map(|w| {
                let (need, cost) = self.load_price(*w, now)?;
                Some((need, cost, *w))
            })
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)))
            .map(|(_, cost, w)| (cost, w))
    }

    /// Expected seconds that loading one more label on `worker` costs later tasks: the
    /// reload its victim will need. `None` when it cannot load at all.
    pub(super) fn load_cost(&self, worker_key: WorkerKey, now: Time) -> Option<f64> {
        self.load_price(worker_key, now).map(|(_, cost)| cost)
    }

    /// What loading one more label on `worker` gives up: how much the copy it evicts is
    /// needed (a spare label slot evicts nothing: a surplus) and [`Self::load_cost`].
    /// `None` when it cannot load at all.
    pub(super) fn load_price(&self, worker_key: WorkerKey, now: Time) -> Option<(Need, f64)> {
        let worker = self.workers.get(&worker_key)?;
        if worker.has_spare() {
            return Some((Need::Surplus, 0.0));
        }
        let victim = self.victim(worker_key, now)?;
        Some((self.need(victim, now), self.reload_cost(victim, now)))
    }

    /// Expected seconds of reload that dropping `label` from one holder causes: its load
    /// time weighted by the chance it is asked for again within the horizon, shared
    /// among its holders (the others keep serving it).
    fn reload_cost(&self, label: LabelId, now: Time) -> f64 {
        let demand = self.estimates.demand(label, now);
        let p = if self.queue.count(label) > 0 {
            1.0
        } else {
            let horizon = self.config.reload_horizon_loads * self.estimates.load_s(label);
            1.0 - (-demand * horizon).exp()
        };
        // With other holders left, only the share of its demand this copy served is lost.
        p * self.estimates.load_s(label) / self.sharers(label)
    }

    /// The label `worker` should drop to make room, or `None` when it has room or none
    /// can go (all in use, or, for `affinity`, still under the churn floor). Affinity
    /// gives up a copy above its label's target first, then one whose label keeps
    /// another, and an active label's last copy only when nothing else can go.
    pub(super) fn victim(&self, worker_key: WorkerKey, now: Time) -> Option<LabelId> {
        let worker = self.workers.get(&worker_key)?;
        if worker.has_spare() {
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
            .map(|h| {
                let need = self.need(h.label, now);
                (need, self.keep_score(h.label, now), h.last_used, h.label)
            })
            .min_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.total_cmp(&b.2))
            })
            .map(|(.., label)| label)
    }

    /// How much keeping `label` on one of its holders is worth: tasks waiting for it plus
    /// those expected while it would reload, shared among its holders.
    fn keep_score(&self, label: LabelId, now: Time) -> f64 {
        let expected = self.queue.count(label) as f64
            + self.estimates.demand(label, now) * self.estimates.load_s(label);
        expected / self.sharers(label)
    }

    /// Whether a worker that accepts the task type is loading `label`.
    fn loading(&self, label: LabelId, task_type: u16) -> bool {
        self.loaders(label, task_type).next().is_some()
    }

    /// Whether a worker that accepts the task type is loading `label` and has a slot
    /// free for a task once it is loaded (concurrent misses share that load).
    pub(super) fn loading_with_room(&self, label: LabelId, task_type: u16) -> bool {
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
}
