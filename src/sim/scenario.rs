//! What a simulation runs: the workers, where requests come from, the time scale and
//! the routing knobs; and how a run can go wrong.

use super::trace::TraceEntry;
use crate::routing::RoutingConfig;
use crate::workload::ProducerModel;

/// Where requests come from.
#[derive(Debug, Clone)]
pub enum Arrivals {
    /// `producers` producers share `requests`: each sends one, waits for its result,
    /// thinks, and sends the next.
    Closed {
        requests: usize,
        producers: usize,
        model: ProducerModel,
    },
    /// Requests at fixed times, whatever the results.
    Trace(Vec<TraceEntry>),
}

/// Everything a simulation needs besides the policy and the seed. Durations unscaled.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub workers: u32,
    pub max_labels: u32,
    pub slots: u32,
    /// Whether the pool's shape came, at least in part, from a replayed event log.
    pub pool_from_log: bool,
    /// What the workers accept (simulated types only).
    pub task_types: Vec<String>,
    pub arrivals: Arrivals,
    /// Multiplies every simulated duration; results are divided by it.
    pub time_scale: f64,
    /// Seconds (unscaled) between the scheduler's periodic ticks.
    pub tick_s: f64,
    /// The routing knobs, in unscaled seconds.
    pub routing: RoutingConfig,
    /// Workers that misbehave, by index; the others are healthy.
    pub misbehaving: Vec<(u32, Misbehaviour)>,
    /// Tenants' priorities and weights (`--tenant`), by the names trace entries give.
    pub tenants: Vec<(String, crate::routing::Share)>,
}

/// How a simulated worker misbehaves (`--misbehave INDEX:KIND`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Misbehaviour {
    /// `fail=P`: each task fails at once with probability P, without saying why.
    Fails(f64),
    /// `fault=P`: each task fails at once with probability P, the worker saying it is
    /// broken (`WORKER_FAULT`).
    Faults(f64),
    /// `load-fail`: every load fails (`LOAD_FAILED`), after the load's time.
    LoadFails,
    /// `hang=P`: each task never finishes with probability P (nor answers its cancel).
    Hangs(f64),
    /// `slow=F`: each task runs F times longer.
    Slow(f64),
}

impl std::str::FromStr for Misbehaviour {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (kind, value) = text.split_once('=').unwrap_or((text, ""));
        let number = |what: &str, ok: &dyn Fn(f64) -> bool| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| ok(*v))
                .ok_or_else(|| format!("'{kind}=' needs {what} (got '{value}')"))
        };
        let probability = |v: f64| (0.0..=1.0).contains(&v);
        match kind {
            "fail" => Ok(Self::Fails(number(
                "a probability from 0 to 1",
                &probability,
            )?)),
            "fault" => Ok(Self::Faults(number(
                "a probability from 0 to 1",
                &probability,
            )?)),
            "hang" => Ok(Self::Hangs(number(
                "a probability from 0 to 1",
                &probability,
            )?)),
            "slow" => Ok(Self::Slow(number("a factor of 1 or more", &|v| {
                v >= 1.0 && v.is_finite()
            })?)),
            "load-fail" if value.is_empty() => Ok(Self::LoadFails),
            _ => Err(format!(
                "unknown misbehaviour '{text}' (known: fail=P, fault=P, load-fail, hang=P, slow=F)"
            )),
        }
    }
}

/// A simulation that went wrong: the routing core broke a rule the workers rely on, or
/// stopped making progress.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at t={at:.3}s: {message}")]
pub struct Broken {
    pub at: f64,
    pub message: String,
}
