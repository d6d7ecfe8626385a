//! The routing core's knobs and their defaults.

use super::estimate::Priors;
pub use super::placement::Placement;

/// Knobs of the routing core. Defaults suit the simulated benchmark and real models.
/// Apart from the priors and `demand_tau_s`, durations are counted in measured load
/// times, so the same knobs fit any time scale once a load has been measured.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// Waiting tasks beyond this are refused with [`Reject::QueueFull`].
    pub max_queue: usize,
    /// A task whose worker is lost this many times fails.
    pub max_attempts: u32,
    pub priors: Priors,
    /// Time constant of the per-label demand estimate (seconds).
    pub demand_tau_s: f64,
    /// A loaded label stays at least this many times its load time (churn floor).
    pub churn_factor: f64,
    /// A task waiting longer than this many times (load + run) is served first.
    pub starvation_factor: f64,
    /// How many candidates a decision examines at most (keeps decisions O(1) in pool size).
    pub probe: usize,
    /// Weight of the reload a victim will need in the wait-or-load decision (0: compare
    /// the wait with the load time alone).
    pub reload_weight: f64,
    /// How long, in load times of the label, a task waits for a busy holder before its
    /// label is loaded elsewhere (affinity only; the reload pricing above comes on top).
    /// The knob that trades latency for misses: lower starts more loads sooner, higher
    /// keeps tasks with their label's holders (infinite: never load a held label again).
    pub patience_loads: f64,
    /// Horizon, in load times of the label, over which a victim's recent demand counts
    /// as a future reload.
    pub reload_horizon_loads: f64,
    /// An idle worker preloads a label only when the waiting it saves exceeds the
    /// reload its victim costs by this many load times (affinity only; infinite: never).
    pub preload_margin: f64,
    /// A worker preloads only after having nothing to do for this many load times.
    pub preload_idle_loads: f64,
    /// Time limits on running tasks and on departed workers; see [`Bounds`].
    pub bounds: Bounds,
    /// How misbehaving workers are found out and worked around; see [`Health`].
    pub health: Health,
    /// How many copies of each label the pool holds; see [`Placement`].
    pub placement: Placement,
}

/// How the core treats workers that stay connected but misbehave (`health.rs`): retries
/// elsewhere within a budget, ejection of a worker whose failures stand out, per-label
/// load backoff, stuck tasks. Durations in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// Times a task that failed ambiguously (or by the worker's fault) runs again, each
    /// time on a worker it has not failed on.
    pub retry_failed: u32,
    /// Retries may add at most this share of the recent submissions...
    pub retry_budget_ratio: f64,
    /// ...plus this many a second...
    pub retry_budget_min_per_s: f64,
    /// ...counted over this window.
    pub retry_budget_window_s: f64,
    /// A worker with this many failures in a row (each its own fault) is ejected.
    pub consecutive_failures: u32,
    /// A worker whose share of failures among its last `failure_window` results reaches
    /// this, while the other workers' share is under half of it, is ejected.
    pub failure_rate: f64,
    pub failure_window: u32,
    /// An ejected worker is probed after this long, doubled at each new ejection...
    pub ejection_base_s: f64,
    /// ...up to this.
    pub ejection_max_s: f64,
    /// At most this percentage of the connected workers is ejected at once (at least
    /// one worker may be, and one always serves; 0: none is).
    pub max_ejection_percent: f64,
    /// A worker whose load of a label failed is not given that label for this long,
    /// doubled at each new failure...
    pub load_backoff_s: f64,
    /// ...up to this.
    pub load_backoff_max_s: f64,
    /// A task running this many times longer than its label and type ever took (over at
    /// least `STUCK_SAMPLES` runs), and at least `stuck_floor_s`, is stuck: taken off its
    /// worker and retried elsewhere. Infinite: never.
    pub stuck_factor: f64,
    pub stuck_floor_s: f64,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            retry_failed: 1,
            retry_budget_ratio: 0.2,
            retry_budget_min_per_s: 1.0,
            retry_budget_window_s: 10.0,
            consecutive_failures: 5,
            failure_rate: 0.5,
            failure_window: 20,
            ejection_base_s: 30.0,
            ejection_max_s: 300.0,
            max_ejection_percent: 50.0,
            load_backoff_s: 5.0,
            load_backoff_max_s: 300.0,
            stuck_factor: 10.0,
            stuck_floor_s: 30.0,
        }
    }
}

/// How long things may take before the core gives up on them (seconds). The defaults
/// change nothing: no run-time limit, no grace, nothing forgotten.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// A running task with no result after this long is stopped on its worker and
    /// counted as a lost attempt (infinite: no limit).
    pub max_run_s: f64,
    /// The same limit for particular task types, by name.
    pub max_run_s_by_type: Vec<(String, f64)>,
    /// Waiting tasks whose only capable workers went away wait this long for one to
    /// come back, and a task type no connected worker accepts is forgotten after it.
    pub worker_grace_s: f64,
    /// A label no worker holds and no task used for this long is forgotten (infinite:
    /// never).
    pub label_idle_s: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            max_run_s: f64::INFINITY,
            max_run_s_by_type: Vec::new(),
            worker_grace_s: 0.0,
            label_idle_s: f64::INFINITY,
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            max_queue: 100_000,
            max_attempts: 3,
            priors: Priors::default(),
            demand_tau_s: 30.0,
            churn_factor: 2.0,
            starvation_factor: 4.0,
            probe: 16,
            reload_weight: 1.0,
            patience_loads: 0.75,
            reload_horizon_loads: 15.0,
            preload_margin: 0.5,
            preload_idle_loads: 0.5,
            bounds: Bounds::default(),
            health: Health::default(),
            placement: Placement::default(),
        }
    }
}

impl RoutingConfig {
    /// The same knobs for a world whose durations are all multiplied by `scale` (the
    /// simulator's and the simulated workers' time scale): every duration scales, ratios
    /// and counts stay.
    pub fn time_scaled(&self, scale: f64) -> Self {
        let mut scaled = self.clone();
        scaled.priors.load_s *= scale;
        scaled.priors.run_s *= scale;
        scaled.demand_tau_s *= scale;
        let placement = &mut scaled.placement;
        for duration in [
            &mut placement.interval_s,
            &mut placement.shrink_after_s,
            &mut placement.load_window_s,
            &mut placement.active_s,
            &mut placement.rate_tau_s,
        ] {
            *duration *= scale;
        }
        let health = &mut scaled.health;
        for duration in [
            &mut health.retry_budget_window_s,
            &mut health.ejection_base_s,
            &mut health.ejection_max_s,
            &mut health.load_backoff_s,
            &mut health.load_backoff_max_s,
            &mut health.stuck_floor_s,
        ] {
            *duration *= scale;
        }
        if scale > 0.0 {
            health.retry_budget_min_per_s /= scale;
        }
        scaled
    }
}
