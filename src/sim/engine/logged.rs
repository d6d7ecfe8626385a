//! The logged run behind `simulate --copies`: every load and eviction, and the
//! planner's target for one watched label as it changes.

use super::{run_world, Broken, World};
use crate::report::Samples;
use crate::routing::Policy;
use crate::sim::scenario::Scenario;

/// A label gained (`+1`, a load starts) or lost (`-1`, an eviction) a copy on a worker, at
/// `at_s` unscaled seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMove {
    pub at_s: f64,
    pub label: String,
    pub delta: i8,
}

/// A run of [`simulate_logged`].
#[derive(Debug)]
pub struct Logged {
    pub samples: Samples,
    /// Every load and eviction, in order.
    pub moves: Vec<LabelMove>,
    /// The watched label's target copies from the planner: `(unscaled s, target)` at
    /// the start and at each change.
    pub targets: Vec<(f64, u32)>,
}

/// [`simulate`](super::simulate), also returning every load and eviction and the targets of `watch`.
pub fn simulate_logged(
    scenario: &Scenario,
    policy: Policy,
    seed: u64,
    watch: &str,
) -> Result<Logged, Broken> {
    let mut world = run_world(scenario, policy, seed, Some(watch))?;
    let moves = std::mem::take(&mut world.moves);
    let targets = std::mem::take(&mut world.targets);
    Ok(Logged {
        samples: world.into_samples(),
        moves,
        targets,
    })
}

impl World<'_> {
    /// Records the watched label's target when it changed.
    pub(super) fn watch_target(&mut self) {
        let Some(label) = &self.watch else { return };
        let target = self.scheduler.planned_copies(label);
        if self.targets.last().is_none_or(|(_, t)| *t != target) {
            let at_s = self.now / self.scenario.time_scale;
            self.targets.push((at_s, target));
        }
    }
}
