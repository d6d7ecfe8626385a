//! How the scheduler carries out the placement plan (`placement.rs`): planning on its
//! tick, loading labels below their target on idle workers, and ranking copies for
//! eviction by how far above their target they are.

use super::placement::Pool;
use super::scheduler::Scheduler;
use super::types::{Action, LabelId, Time, WorkerKey};

/// How much a copy is needed where it is, for choosing a victim: a lower class goes
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Need {
    /// Its label holds more copies than routing holds it to (its target when following
    /// demand, else the operator's minimum; none planned: 0).
    Surplus,
    /// At or below its target, but its label keeps another copy, or is not active.
    Planned,
    /// The last copy of an active label.
    Last,
}

/// One label's placement, as `/labels/stats` and `simulate --copies` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPlacement {
    pub label: String,
    /// Copies the planner wants (0: none planned).
    pub target: u32,
    /// Copies held or loading.
    pub copies: u32,
    /// Busy slot-seconds per second its recent tasks bring.
    pub demand: f64,
}

impl Scheduler {
    /// Every label with a plan, a demand or a copy, by name.
    pub fn placements(&self, now: Time) -> Vec<LabelPlacement> {
        let mut placements: Vec<LabelPlacement> = self
            .plan
            .plans(now)
            .into_iter()
            .map(|p| LabelPlacement {
                label: self.label_name(p.label).to_owned(),
                target: p.target,
                copies: self.copies(p.label),
                demand: p.demand,
            })
            .collect();
        for label in self.holders.keys().filter(|l| !self.plan.knows(**l)) {
            placements.push(LabelPlacement {
                label: self.label_name(*label).to_owned(),
                target: 0,
                copies: self.copies(*label),
                demand: 0.0,
            });
        }
        placements.sort_by(|a, b| a.label.cmp(&b.label));
        placements
    }

    /// The copies the planner wants of the label named `label` (0: none planned).
    pub fn planned_copies(&self, label: &str) -> u32 {
        self.label_ids
            .get(label)
            .map_or(0, |id| self.plan.target(*id))
    }

    /// Copies of `label` held or loading.
    pub(super) fn copies(&self, label: LabelId) -> u32 {
        self.holders.get(&label).map_or(0, Vec::len) as u32
    }

    /// How much `label`'s copy on one of its holders is needed (see [`Need`]).
    pub(super) fn need(&self, label: LabelId, now: Time) -> Need {
        let copies = self.copies(label);
        if copies > self.plan.enforced(label) {
            Need::Surplus
        } else if copies > 1 || !self.plan.active(label, now) {
            Need::Planned
        } else {
            Need::Last
        }
    }

    /// Plans when a plan is due, then loads labels below their target on idle workers
    /// while the planner's load budget allows.
    pub(super) fn place_copies(&mut self, now: Time, actions: &mut Vec<Action>) {
        if self.plan.due(now) {
            let pool = self.pool();
            let holders = &self.holders;
            let held = |label: LabelId| holders.get(&label).map_or(0, Vec::len) as u32;
            self.plan.plan(pool, held, now);
        }
        if !self.plan.config().enabled() || self.free.len() == 0 {
            return;
        }
        let short = self.plan.short(|label| self.copies(label), now);
        for (label, _) in short {
            if !self.plan.may_load(now) {
                return;
            }
            let Some(worker) = self.planned_target(label, now) else {
                continue;
            };
            self.begin_load(worker, label, now, actions);
            self.set_preload(worker, Some(label));
            actions.push(Action::Load { worker, label });
            self.plan.loaded(now);
        }
    }

    /// Whether planning changes nothing routing acts on, now and at every later time
    /// until something else changes (see [`Scheduler::tick_is_idle`]): no plan; not
    /// following demand and every operator's minimum held; or every label at its
    /// minimum, held, and long without a task.
    pub(super) fn plan_is_idle(&self, now: Time) -> bool {
        let config = self.plan.config();
        let held = |label: LabelId| self.copies(label);
        !config.enabled()
            || if config.follow_demand {
                self.plan.settled(held, now)
            } else {
                self.plan.minimums_held(held)
            }
    }

    /// The label slots and task slots of the workers that serve.
    fn pool(&self) -> Pool {
        let (mut label_slots, mut slots, mut workers) = (0u32, 0u64, 0u32);
        for worker in self.workers.values().filter(|w| w.serving()) {
            label_slots = label_slots.saturating_add(worker.max_labels);
            slots += u64::from(worker.slots);
            workers += 1;
        }
        Pool {
            label_slots,
            slots_per_worker: if workers == 0 {
                1.0
            } else {
                slots as f64 / f64::from(workers)
            },
        }
    }

    /// An idle worker to load a planned copy of `label` on: one that accepts its tasks,
    /// does not hold it, may load it, and has a spare label slot or a surplus copy to
    /// give up; the one where the load costs least.
    fn planned_target(&self, label: LabelId, now: Time) -> Option<WorkerKey> {
        // A minimum set before any task came goes to any worker.
        let task_type = self.plan.task_type(label);
        let idle_for = self.config.preload_idle_loads * self.estimates.mean_load_s();
        let probe = self.config.probe;
        self.free
            .as_slice()
            .iter()
            .copied()
            .filter(|key| {
                let w = &self.workers[key];
                w.running.is_empty()
                    && w.preload.is_none()
                    && now - w.idle_since >= idle_for
                    && task_type.is_none_or(|t| w.accepts(t))
                    && w.held(label).is_none()
                    && w.may_load(label, now)
            })
            .filter_map(|key| match self.load_price(key, now)? {
                (Need::Surplus, cost) => Some((cost, key)),
                _ => None,
            })
            .take(probe)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, key)| key)
    }
}
