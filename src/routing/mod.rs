//! The routing core: scheduler state and policies, pure data in and decisions out.
//!
//! Nothing here may depend on actix, tokio, ort, prost, a clock or any IO: time and
//! randomness come in as arguments, so the live dispatcher and the simulator run the
//! same code and tests drive it on a virtual clock.

mod bounds;
mod budget;
mod config;
mod cost;
mod dispatch;
mod estimate;
mod faults;
mod free;
mod fxhash;
mod health;
mod placement;
mod planned;
mod policy;
mod preload;
mod queue;
mod rng;
mod scheduler;
mod share;
mod types;
mod worker;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_affinity;
#[cfg(test)]
mod tests_bounds;
#[cfg(test)]
mod tests_health;
#[cfg(test)]
mod tests_placement;
#[cfg(test)]
mod tests_tenants;

pub use config::{Bounds, Health, Placement};
pub use estimate::Priors;
pub use planned::LabelPlacement;
pub use policy::Policy;
pub use rng::SplitMix64;
pub use scheduler::{Cancelled, Misreport, RoutingConfig, Scheduler};
pub use types::{
    Action, Fault, HealthEvent, HealthReport, HealthState, LabelEvent, LabelEventKind, LabelId,
    Outcome, Reject, Share, TaskKey, TaskSpec, Time, Verdict, WorkerKey, WorkerSpec,
};
