//! Online estimates of load time per label, run time per (label, task type) and demand
//! per label, with priors used until the first measurement arrives.

use super::fxhash::FxHashMap;

use super::types::{LabelId, Time};

/// What the core assumes before it has measured anything (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Priors {
    pub load_s: f64,
    pub run_s: f64,
}

impl Default for Priors {
    fn default() -> Self {
        Self {
            load_s: 2.0,
            run_s: 1.0,
        }
    }
}

/// Exponentially weighted moving average; `None` until the first sample.
#[derive(Debug, Clone, Copy, Default)]
struct Ewma(Option<f64>);

impl Ewma {
    const ALPHA: f64 = 0.2;

    fn add(&mut self, sample: f64) {
        self.0 = Some(match self.0 {
            None => sample,
            Some(mean) => mean + Self::ALPHA * (sample - mean),
        });
    }
}

/// A label's load time and its run time over all task types.
#[derive(Debug, Clone, Copy, Default)]
struct LabelTimes {
    load: Ewma,
    run: Ewma,
}

/// A rate per second (of arrivals, or of any amount added), decayed exponentially with
/// time constant `tau`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Rate {
    value: f64,
    at: Time,
}

impl Rate {
    pub(super) fn at(&self, now: Time, tau: f64) -> f64 {
        self.value * (-(now - self.at).max(0.0) / tau).exp()
    }

    /// `amount` happened at `now` (an arrival: 1).
    pub(super) fn add(&mut self, amount: f64, now: Time, tau: f64) {
        self.value = self.at(now, tau) + amount / tau;
        self.at = now;
    }
}

/// Everything measured so far. Unknown labels fall back to the mean over all labels,
/// then to the priors.
#[derive(Debug, Clone)]
pub struct Estimates {
    priors: Priors,
    demand_tau: f64,
    load_any: Ewma,
    /// Per label: its load time and its run time over all task types.
    label: FxHashMap<LabelId, LabelTimes>,
    run_by_type: FxHashMap<u16, Ewma>,
    run: FxHashMap<(LabelId, u16), Ewma>,
    /// The longest run measured per label and task type, and how many runs were measured.
    longest: FxHashMap<(LabelId, u16), (f64, u32)>,
    demand: FxHashMap<LabelId, Rate>,
}

impl Estimates {
    pub fn new(priors: Priors, demand_tau: f64) -> Self {
        Self {
            priors,
            demand_tau,
            load_any: Ewma::default(),
            label: FxHashMap::default(),
            run_by_type: FxHashMap::default(),
            run: FxHashMap::default(),
            longest: FxHashMap::default(),
            demand: FxHashMap::default(),
        }
    }

    /// Expected seconds to load `label` on a worker that does not hold it.
    pub fn load_s(&self, label: LabelId) -> f64 {
        self.label
            .get(&label)
            .and_then(|t| t.load.0)
            .or(self.load_any.0)
            .unwrap_or(self.priors.load_s)
    }

    /// Expected seconds to load a label, over all labels measured so far (the prior before).
    pub fn mean_load_s(&self) -> f64 {
        self.load_any.0.unwrap_or(self.priors.load_s)
    }

    /// Expected seconds to run a task of `task_type` on `label`, once loaded.
    pub fn run_s(&self, label: LabelId, task_type: u16) -> f64 {
        self.run
            .get(&(label, task_type))
            .and_then(|e| e.0)
            .or_else(|| self.run_by_type.get(&task_type).and_then(|e| e.0))
            .unwrap_or(self.priors.run_s)
    }

    /// Expected seconds to run a task for `label`, whatever its type (the mean over task
    /// types before this label has been measured).
    pub fn label_run_s(&self, label: LabelId) -> f64 {
        self.label
            .get(&label)
            .and_then(|t| t.run.0)
            .unwrap_or_else(|| self.mean_run_s())
    }

    /// The longest expected run time of any task type measured so far (the prior before
    /// any: a prior larger than every measurement must not stretch anyone's patience).
    pub fn max_run_s(&self) -> f64 {
        self.run_by_type
            .values()
            .filter_map(|e| e.0)
            .reduce(f64::max)
            .unwrap_or(self.priors.run_s)
    }

    /// The mean expected run time over the task types measured so far (the prior before).
    pub fn mean_run_s(&self) -> f64 {
        let (sum, n) = self
            .run_by_type
            .values()
            .filter_map(|e| e.0)
            .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
        if n == 0 {
            self.priors.run_s
        } else {
            sum / f64::from(n)
        }
    }

    /// Measured seconds to run `task_type` on `label` (over all labels when this one has
    /// not been measured); `None` before any measurement of the type.
    pub fn measured_run_s(&self, label: Option<LabelId>, task_type: u16) -> Option<f64> {
        label
            .and_then(|l| self.run.get(&(l, task_type)))
            .and_then(|e| e.0)
            .or_else(|| self.run_by_type.get(&task_type).and_then(|e| e.0))
    }

    /// Measured seconds to load `label` (the mean over labels when this one has not been
    /// measured); `None` before any load was measured.
    pub fn measured_load_s(&self, label: Option<LabelId>) -> Option<f64> {
        label
            .and_then(|l| self.label.get(&l).map(|t| &t.load))
            .and_then(|e| e.0)
            .or(self.load_any.0)
    }

    /// The longest run of `task_type` on `label` measured, and over how many runs.
    pub fn longest_run_s(&self, label: LabelId, task_type: u16) -> Option<(f64, u32)> {
        self.longest.get(&(label, task_type)).copied()
    }

    /// When a task for `label` last arrived.
    pub fn last_arrival(&self, label: LabelId) -> Option<Time> {
        self.demand.get(&label).map(|r| r.at)
    }

    /// Drops everything measured for a task type that is forgotten.
    pub fn forget_type(&mut self, task_type: u16) {
        self.run_by_type.remove(&task_type);
        self.run.retain(|(_, t), _| *t != task_type);
        self.longest.retain(|(_, t), _| *t != task_type);
    }

    /// Drops everything measured for a label that is forgotten.
    pub fn forget_label(&mut self, label: LabelId) {
        self.label.remove(&label);
        self.run.retain(|(l, _), _| *l != label);
        self.longest.retain(|(l, _), _| *l != label);
        self.demand.remove(&label);
    }

    pub fn record(&mut self, label: LabelId, task_type: u16, load_s: Option<f64>, run_s: f64) {
        let times = self.label.entry(label).or_default();
        times.run.add(run_s);
        if let Some(load_s) = load_s {
            times.load.add(load_s);
            self.load_any.add(load_s);
        }
        self.run.entry((label, task_type)).or_default().add(run_s);
        let longest = self.longest.entry((label, task_type)).or_insert((0.0, 0));
        *longest = (longest.0.max(run_s), longest.1.saturating_add(1));
        self.run_by_type.entry(task_type).or_default().add(run_s);
    }

    /// Counts one arrival of a task for `label`.
    pub fn arrived(&mut self, label: LabelId, now: Time) {
        let tau = self.demand_tau;
        self.demand.entry(label).or_default().add(1.0, now, tau);
    }

    /// Recent arrivals per second for `label`.
    pub fn demand(&self, label: LabelId, now: Time) -> f64 {
        self.demand
            .get(&label)
            .map_or(0.0, |r| r.at(now, self.demand_tau))
    }
}
