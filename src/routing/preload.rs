//! Preloading (affinity only): an idle worker loads, ahead of any task, the label whose
//! load saves the most expected waiting: one that tasks wait for behind busy holders, or
//! one with recent demand that no worker holds any more. A preload is a load like any
//! other: it takes a slot until loaded, evicts like a task's load and respects the churn
//! floor; it happens only when what it saves clearly exceeds the reload its victim costs.

use super::policy::Policy;
use super::scheduler::Scheduler;
use super::types::{Action, LabelId, Time, WorkerKey};

impl Scheduler {
    /// Starts a preload on `worker` if it is idle and one is worth it.
    pub(super) fn consider_preload(
        &mut self,
        worker: WorkerKey,
        now: Time,
        actions: &mut Vec<Action>,
    ) {
        let Some(w) = self.workers.get(&worker) else {
            return;
        };
        if !w.running.is_empty()
            || w.preload.is_some()
            || w.free_slots() == 0
            || now - w.idle_since < self.config.preload_idle_loads * self.estimates.mean_load_s()
        {
            return;
        }
        let Some(cost) = self.load_cost(worker, now) else {
            return;
        };
        let Some((value, label)) = self.best_preload(worker, now) else {
            return;
        };
        let load_s = self.estimates.load_s(label);
        let away = self.away_cost(worker, label, now);
        if value - cost - away <= self.config.preload_margin * load_s {
            return;
        }
        self.begin_load(worker, label, now, actions);
        self.set_preload(worker, Some(label));
        actions.push(Action::Load { worker, label });
    }

    /// Expected seconds that tasks for the worker's other labels wait while it loads
    /// `label`: their arrival rate (shared with other holders) times the load time, each
    /// waiting half of it on average.
    fn away_cost(&self, worker: WorkerKey, label: LabelId, now: Time) -> f64 {
        let Some(w) = self.workers.get(&worker) else {
            return 0.0;
        };
        let rate: f64 = w
            .labels
            .iter()
            .filter(|h| h.loaded && h.label != label)
            .map(|h| self.estimates.demand(h.label, now) / self.sharers(h.label))
            .sum();
        let load_s = self.estimates.load_s(label);
        rate * load_s * load_s / 2.0
    }

    /// The label an idle `worker` would gain most by loading now: `(seconds saved, label)`.
    fn best_preload(&mut self, worker: WorkerKey, now: Time) -> Option<(f64, LabelId)> {
        let w = self.workers.get(&worker)?;
        let probe = self.config.probe;
        let mut best: Option<(f64, LabelId)> = None;
        let mut consider = |value: f64, label: LabelId| {
            if value > 0.0 && best.is_none_or(|(v, _)| value > v) {
                best = Some((value, label));
            }
        };
        // Tasks waiting behind busy holders: each would start when the load is done
        // instead of when a holder frees.
        let mut seen: Vec<LabelId> = Vec::with_capacity(probe);
        for (_, waiting) in self.queue.ordered().take(probe.saturating_mul(8)) {
            if seen.len() >= probe {
                break;
            }
            if seen.contains(&waiting.label)
                || !w.accepts(waiting.task_type)
                || w.held(waiting.label).is_some()
                || !w.may_load(waiting.label, now)
            {
                continue;
            }
            seen.push(waiting.label);
            // Only the wait beyond what the task accepts counts (none when it would
            // wait for its holder forever).
            let saved = self.wait_s(waiting, 0, now) - self.base_patience(waiting.label);
            let count = self.queue.count(waiting.label) as f64;
            consider(
                saved.min(self.estimates.load_s(waiting.label) * 4.0) * count,
                waiting.label,
            );
        }
        // Labels with recent demand and no holder: the next task for one misses unless
        // it is loaded first.
        self.uncovered.retain(|l| !self.holders.contains_key(l));
        for label in self
            .uncovered
            .iter()
            .rev()
            .filter(|l| w.may_load(**l, now))
            .take(probe)
        {
            let p = self.asked_again(*label, now);
            consider(p * self.estimates.load_s(*label), *label);
        }
        best
    }

    /// The chance that `label` is asked for within the reload horizon, from its recent
    /// demand (which only decays while no task for it arrives).
    fn asked_again(&self, label: LabelId, now: Time) -> f64 {
        let demand = self.estimates.demand(label, now);
        let horizon = self.config.reload_horizon_loads * self.estimates.load_s(label);
        1.0 - (-demand * horizon).exp()
    }

    /// Whether [`Scheduler::tick`] does nothing now and at every later time until
    /// something else changes the state (a task, a worker's report, a worker coming or
    /// going): nothing waits or runs, every task type has a worker, and no preload can
    /// pass its margin, since an uncovered label's chance of being asked for again only
    /// decays. A simulator may skip the ticks of idle virtual time without changing any
    /// decision.
    pub fn tick_is_idle(&self, now: Time) -> bool {
        if self.queue.len() > 0
            || !self.running.is_empty()
            || self.workers.values().any(|w| !w.abandoned.is_empty())
            || self
                .type_ids
                .values()
                .any(|id| self.capable[*id as usize] == 0)
        {
            return false;
        }
        self.policy != Policy::Affinity
            || self.plan_is_idle(now)
                && self.uncovered.iter().all(|label| {
                    // A covered one is dropped from the list by the next preload check.
                    !self.holders.contains_key(label)
                        && self.asked_again(*label, now) <= self.config.preload_margin
                })
    }
}
