//! Placement (affinity only): a slow control loop that decides how many copies of each
//! label the pool should hold. Every `interval_s` it turns each label's measured work
//! rate (busy slot-seconds per second) into a target: one copy for every active label
//! while the label slots allow, more for labels whose work needs them, and the spare
//! slots as second copies of the labels whose holders were most often all busy when a
//! task came. Targets grow at once and shrink by one copy per `shrink_after_s`.
//!
//! With `follow_demand`, the fast path keeps its wait-or-load rule and reads the targets
//! in three places: a miss evicts a copy above its target before one at it, and a
//! label's last copy while the label is active only when nothing else can go; a task
//! waits `patience_at_target_loads` for a label at its target; and an idle worker loads
//! a label below its target, within a load budget per window, only into a spare slot or
//! over a copy above its target. Without it (the default: on the simulated traces it
//! trades latency for loads and never beats the fast path alone, see bench/results),
//! the targets are measured and shown, and routing holds only to the operator's
//! minimums (`[routing.copies]`): loaded on idle workers and evicted last.
//!
//! When the active labels outnumber the label slots there is no room to plan: the
//! targets are the operator's minimums alone and routing is what it was without them.
//! The design follows ModelMesh (copies from request rates, scale down slowly) and
//! Dynamo's LoRA placement (copies by demand, a load budget, a cooldown, never the last
//! copy).

use std::collections::VecDeque;

use super::estimate::Rate;
use super::fxhash::FxHashMap;
use super::types::{LabelId, Time};

/// The planner's knobs (seconds unless said).
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Seconds between plans; infinite: no planner (every target 0, routing as without).
    pub interval_s: f64,
    /// The share of one slot a label's planned copy may keep busy with the label's work:
    /// a label with `work` busy slot-seconds per second wants `work / copy_utilization`
    /// slots' worth of copies.
    pub copy_utilization: f64,
    /// A target above what the demand needs drops by one copy after this long.
    pub shrink_after_s: f64,
    /// Loads the planner itself starts (to bring labels up to their targets) per
    /// `load_window_s`; a task's own miss is not counted or limited.
    pub load_budget: u32,
    pub load_window_s: f64,
    /// A label is active while a task for it arrived within this long.
    pub active_s: f64,
    /// Time constant of the work and blocked-arrival rates.
    pub rate_tau_s: f64,
    /// The share of the spare label slots (beyond one copy per active label and the
    /// copies demand needs) that second copies may take; the rest stays free for the
    /// copies misses load during bursts.
    pub spare_share: f64,
    /// How long, in load times, a task waits for a busy holder of a label that holds
    /// its target of copies before loading another (a copy above the target is the first
    /// to be evicted again); `patience_loads` when lower.
    pub patience_at_target_loads: f64,
    /// Whether routing acts on the targets demand gives (evicts copies above them
    /// first, loads copies up to them, waits longer at them). Off: the targets are
    /// measured and shown, and only the operator's minimums are loaded and kept.
    pub follow_demand: bool,
    /// Minimum copies per label, by name (`[routing.copies]`), held whatever the demand.
    pub min_copies: Vec<(String, u32)>,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            interval_s: 5.0,
            copy_utilization: 0.5,
            shrink_after_s: 60.0,
            load_budget: 8,
            load_window_s: 30.0,
            active_s: 300.0,
            rate_tau_s: 120.0,
            spare_share: 0.5,
            patience_at_target_loads: 0.75,
            follow_demand: false,
            min_copies: Vec::new(),
        }
    }
}

impl Placement {
    /// Whether the planner runs at all.
    pub fn enabled(&self) -> bool {
        self.interval_s.is_finite()
    }
}

/// What the planner measures and decides for one label.
#[derive(Debug, Clone, Default)]
struct Plan {
    /// Busy slot-seconds per second its arrivals bring (expected run times).
    work: Rate,
    /// Arrivals per second that found every holder busy.
    blocked: Rate,
    last_arrival: Time,
    /// The task type of its last arrival: planned copies go to workers that accept it.
    task_type: Option<u16>,
    target: u32,
    /// The part of the target the planner loads itself: the copies the work needs and
    /// the operator's minimum. Second copies are only kept: a miss loads them.
    loaded_target: u32,
    /// Since when the demand has needed fewer copies than the target.
    above_need_since: Option<Time>,
    /// The operator's minimum.
    min: u32,
}

/// One label's target and demand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LabelPlan {
    pub label: LabelId,
    pub target: u32,
    /// Busy slot-seconds per second of its recent arrivals.
    pub demand: f64,
}

/// What the scheduler tells the planner about the pool when it plans.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pool {
    /// Labels the connected workers can hold at once, summed.
    pub label_slots: u32,
    /// Task slots per worker, on average.
    pub slots_per_worker: f64,
}

/// The planner's state. Pure: time comes in as arguments.
#[derive(Debug, Default)]
pub(super) struct Planner {
    config: Placement,
    labels: FxHashMap<LabelId, Plan>,
    next_plan: Time,
    /// When the planner's loads in the current window started.
    loads: VecDeque<Time>,
    /// Whether the last plan had room for every active label.
    room: bool,
}

impl Planner {
    pub fn new(config: Placement) -> Self {
        Self {
            config,
            next_plan: f64::NEG_INFINITY,
            ..Self::default()
        }
    }

    pub fn config(&self) -> &Placement {
        &self.config
    }

    /// Sets `label`'s operator minimum (it counts as wanted from now on).
    pub fn set_min(&mut self, label: LabelId, min: u32) {
        let plan = self.labels.entry(label).or_default();
        plan.min = min;
        plan.target = plan.target.max(min);
        plan.loaded_target = plan.loaded_target.max(min);
    }

    /// A task for `label` arrived, expected to run `run_s`.
    pub fn arrived(&mut self, label: LabelId, task_type: u16, run_s: f64, now: Time) {
        let tau = self.config.rate_tau_s;
        let plan = self.labels.entry(label).or_default();
        plan.work.add(run_s, now, tau);
        plan.last_arrival = now;
        plan.task_type = Some(task_type);
    }

    /// A task for `label` found every holder busy.
    pub fn blocked(&mut self, label: LabelId, now: Time) {
        let tau = self.config.rate_tau_s;
        self.labels
            .entry(label)
            .or_default()
            .blocked
            .add(1.0, now, tau);
    }

    /// How many copies of `label` the pool should hold (0 when nothing is planned).
    pub fn target(&self, label: LabelId) -> u32 {
        self.labels.get(&label).map_or(0, |p| p.target)
    }

    /// The copies of `label` routing holds to: its target when following demand, else
    /// the operator's minimum.
    pub fn enforced(&self, label: LabelId) -> u32 {
        self.labels.get(&label).map_or(0, |p| {
            if self.config.follow_demand {
                p.target
            } else {
                p.min
            }
        })
    }

    /// Whether `label` is active: wanted by the operator or asked for recently.
    pub fn active(&self, label: LabelId, now: Time) -> bool {
        self.labels
            .get(&label)
            .is_some_and(|p| p.min > 0 || self.is_active(p, now))
    }

    fn is_active(&self, plan: &Plan, now: Time) -> bool {
        plan.task_type.is_some() && now - plan.last_arrival <= self.config.active_s
    }

    /// The task type planned copies of `label` serve.
    pub fn task_type(&self, label: LabelId) -> Option<u16> {
        self.labels.get(&label).and_then(|p| p.task_type)
    }

    /// Whether the planner keeps anything for `label`.
    pub fn knows(&self, label: LabelId) -> bool {
        self.labels.contains_key(&label)
    }

    /// Every label with a target or a demand.
    pub fn plans(&self, now: Time) -> Vec<LabelPlan> {
        let tau = self.config.rate_tau_s;
        self.labels
            .iter()
            .map(|(label, p)| LabelPlan {
                label: *label,
                target: p.target,
                demand: p.work.at(now, tau),
            })
            .collect()
    }

    /// Labels below the part of their target the planner loads, the most wanted first:
    /// `(label, copies to load up to)`.
    pub fn short(&self, held: impl Fn(LabelId) -> u32, now: Time) -> Vec<(LabelId, u32)> {
        let tau = self.config.rate_tau_s;
        let mut short: Vec<(f64, LabelId, u32)> = self
            .labels
            .iter()
            .filter(|(label, p)| held(**label) < p.loaded_target)
            .map(|(label, p)| {
                let copies = held(*label);
                // A label with no copy at all comes first; then work per copy.
                let weight = if copies == 0 {
                    f64::INFINITY
                } else {
                    p.work.at(now, tau) / f64::from(copies)
                };
                (weight, *label, p.loaded_target)
            })
            .collect();
        short.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        short.into_iter().map(|(_, l, t)| (l, t)).collect()
    }

    /// Whether the load budget allows one more planned load now.
    pub fn may_load(&mut self, now: Time) -> bool {
        let window = self.config.load_window_s;
        while self.loads.front().is_some_and(|t| now - t >= window) {
            self.loads.pop_front();
        }
        self.loads.len() < self.config.load_budget as usize
    }

    /// The planner started a load.
    pub fn loaded(&mut self, now: Time) {
        self.loads.push_back(now);
    }

    /// Whether a plan is due now.
    pub fn due(&self, now: Time) -> bool {
        self.config.enabled() && now >= self.next_plan
    }

    /// Whether no later plan changes a target or wants a load: every label is at its
    /// minimum, holds it, and had no task for long enough to be dropped.
    pub fn settled(&self, held: impl Fn(LabelId) -> u32, now: Time) -> bool {
        self.labels.iter().all(|(label, p)| {
            p.target == p.min
                && held(*label) >= p.target
                && (p.task_type.is_none() || now - p.last_arrival > 2.0 * self.config.active_s)
        })
    }

    /// Whether every label holds its operator's minimum.
    pub fn minimums_held(&self, held: impl Fn(LabelId) -> u32) -> bool {
        self.labels.iter().all(|(label, p)| held(*label) >= p.min)
    }

    /// Forgets a label that the scheduler forgot.
    pub fn forget(&mut self, label: LabelId) {
        self.labels.remove(&label);
    }

    /// Whether the planner holds anything for `label` that keeps it from being forgotten.
    pub fn wants(&self, label: LabelId) -> bool {
        self.labels.get(&label).is_some_and(|p| p.min > 0)
    }

    /// Turns the measured demand into targets. `held` gives each label's copies now.
    pub fn plan(&mut self, pool: Pool, held: impl Fn(LabelId) -> u32, now: Time) {
        self.next_plan = now + self.config.interval_s;
        let needs = self.needs(pool, &held, now);
        for (label, plan) in self.labels.iter_mut() {
            let (need, loaded) = needs.get(label).copied().unwrap_or((0, 0));
            let need = need.max(plan.min);
            plan.loaded_target = if self.config.follow_demand {
                loaded.max(plan.min)
            } else {
                plan.min
            };
            if !self.room || need >= plan.target {
                // Grow at once; without room for every label, no plan to keep.
                plan.target = need;
                plan.above_need_since = None;
                continue;
            }
            let since = *plan.above_need_since.get_or_insert(now);
            if now - since >= self.config.shrink_after_s {
                plan.target -= 1;
                plan.above_need_since = (plan.target > need).then_some(now);
            }
        }
        let idle_s = self.config.active_s;
        self.labels
            .retain(|_, p| p.min > 0 || p.target > 0 || now - p.last_arrival <= 2.0 * idle_s);
    }

    /// What the demand needs per label now, within the pool's label slots: `(copies,
    /// copies without the second copies)`.
    fn needs(
        &mut self,
        pool: Pool,
        held: &impl Fn(LabelId) -> u32,
        now: Time,
    ) -> FxHashMap<LabelId, (u32, u32)> {
        let tau = self.config.rate_tau_s;
        let mut needs: FxHashMap<LabelId, u32> = FxHashMap::default();
        let active: Vec<(LabelId, f64, f64)> = self
            .labels
            .iter()
            .filter(|(_, p)| p.min > 0 || self.is_active(p, now))
            .map(|(label, p)| (*label, p.work.at(now, tau), p.blocked.at(now, tau)))
            .collect();
        let floor: u64 = active
            .iter()
            .map(|(label, ..)| u64::from(self.labels[label].min.max(1)))
            .sum();
        self.room = floor <= u64::from(pool.label_slots);
        if !self.room {
            return FxHashMap::default();
        }
        let mut left = pool.label_slots - floor as u32;
        // Copies for the work: one at a time to the label with the most work per copy,
        // while a label wants more than it has and slots are left.
        let per_copy = (self.config.copy_utilization * pool.slots_per_worker).max(1e-9);
        let mut heap: std::collections::BinaryHeap<(OrdF64, LabelId)> = Default::default();
        for (label, work, _) in &active {
            let start = self.labels[label].min.max(1);
            needs.insert(*label, start);
            let want = (work / per_copy).ceil() as u32;
            if want > start {
                heap.push((OrdF64(work / f64::from(start)), *label));
            }
        }
        let work_of: FxHashMap<LabelId, f64> = active.iter().map(|(l, w, _)| (*l, *w)).collect();
        while left > 0 {
            let Some((_, label)) = heap.pop() else { break };
            let copies = needs.get_mut(&label).expect("inserted above");
            *copies += 1;
            left -= 1;
            let work = work_of[&label];
            if (work / per_copy).ceil() as u32 > *copies {
                heap.push((OrdF64(work / f64::from(*copies)), label));
            }
        }
        // Second copies for the labels whose holders were most often all busy, with at
        // least one such arrival expected per active window.
        let mut needs: FxHashMap<LabelId, (u32, u32)> =
            needs.into_iter().map(|(l, n)| (l, (n, n))).collect();
        let mut spare = (f64::from(left) * self.config.spare_share).floor() as u32;
        let mut blocked: Vec<(f64, LabelId)> = active
            .iter()
            .filter(|(label, _, b)| needs[label].0 == 1 && b * self.config.active_s >= 1.0)
            .map(|(label, _, b)| (*b, *label))
            .collect();
        blocked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, label) in blocked {
            if spare == 0 {
                break;
            }
            // A second copy helps only where the first is held already.
            if held(label) >= 1 {
                needs.insert(label, (2, 1));
                spare -= 1;
            }
        }
        needs
    }
}

/// An `f64` ordered totally, for the heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF64(f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
