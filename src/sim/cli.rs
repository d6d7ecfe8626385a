//! The `simulate` subcommand: its flags, turning them into a [`Scenario`], running every
//! requested policy over every seed, and the averaged report.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::arrivals::{check_run_times, read_trace, trace_task_types};
use super::bound::loads_lower_bound;
use super::copies::copies_csv;
use super::engine::simulate;
use super::scenario::{Arrivals, Broken, Misbehaviour, Scenario};
use super::sweep;
use super::trace::TraceError;
use crate::config::ConfigError;
use crate::report::{PolicyResult, Report};
use crate::routing::Policy;
use crate::workload::{self, ProducerModel};

/// Flags of `smart-routing simulate`. Durations are in original (unscaled) seconds.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Simulated workers [default: the most an event log recorded at once, else 2].
    #[arg(long)]
    pub workers: Option<u32>,
    /// K: labels each worker can hold at once [default: as recorded, else 2].
    #[arg(long)]
    pub max_labels: Option<u32>,
    /// Concurrent tasks per worker [default: as recorded, else 1].
    #[arg(long)]
    pub slots: Option<u32>,
    /// Requests the closed-loop producers send in total.
    #[arg(long, default_value_t = 2400)]
    pub requests: usize,
    /// Closed-loop producers (each waits for its result before thinking and sending again).
    #[arg(long, default_value_t = 2)]
    pub producers: usize,
    /// Mean think time between a result and the next request (seconds, at most 3600).
    #[arg(long, default_value_t = 0.75)]
    pub wait_avg: f64,
    /// Standard deviation of the think time (seconds, at most 3600); the think time never
    /// drops below 0.05 s.
    #[arg(long, default_value_t = 1.0)]
    pub wait_stddev: f64,
    /// Labels `label-1..label-L`, drawn uniformly.
    #[arg(long, default_value_t = 4)]
    pub labels: usize,
    /// Task types sent (uniformly) and accepted by the workers [default: sample_task_1,sample_task_2].
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub task_types: Vec<String>,
    /// Replay arrivals from a JSONL trace (`{"at_s":12.5,"label":"x","task_type":"..."}`)
    /// or a server's event log instead of closed-loop producers. Several files must all be
    /// parts of one event log, such as `events.jsonl*` (rotated parts, in any order).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["requests", "producers", "wait_avg", "wait_stddev", "labels"])]
    pub trace: Vec<PathBuf>,
    /// A policy name, several separated by commas, or `all`.
    #[arg(long, default_value = "all")]
    pub policy: String,
    /// Seed of the first run; the same seed gives the same result.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs per policy, with seeds seed, seed+1, ...; the report shows their mean.
    #[arg(long, default_value_t = 1)]
    pub seeds: u32,
    /// Multiplies every simulated duration; results are reported divided by it.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seconds (unscaled) between the scheduler's periodic ticks, from 0.001 to 60.
    #[arg(long, default_value_t = 0.1)]
    pub tick: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Take the routing knobs from the `[routing]` section of this server config file
    /// (the file `serve --config` reads); the built-in defaults otherwise.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one `[routing]` setting, e.g. `--set patience_loads=2`, or one `[health]`
    /// setting with its prefix, e.g. `--set health_consecutive_failures=3`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Make one worker misbehave, by index from 0: `fail=P` (each task fails at once with
    /// probability P), `fault=P` (the same, the worker saying it is broken), `load-fail`
    /// (every load fails), `hang=P` (a task never finishes), `slow=F` (tasks run F times
    /// longer). Repeatable, e.g. `--misbehave 1:fail=0.3`.
    #[arg(long, value_name = "INDEX:KIND")]
    pub misbehave: Vec<String>,
    /// With `--trace`: the priority and weight of a tenant the trace's entries name
    /// (`"tenant": "NAME"`), as `[tenants.NAME]` gives them to `serve`, e.g.
    /// `--tenant live=10` or `--tenant batch=0:3`; repeatable. Tenants not given have
    /// priority 0 and weight 1. The report gives each tenant's latency.
    #[arg(long, value_name = "NAME=PRIORITY[:WEIGHT]", requires = "trace")]
    pub tenant: Vec<String>,
    /// Run `affinity` once per value of one `[routing]` setting (the other policies once,
    /// as reference points) and print the frontier, e.g. `--sweep patience_loads=0.5,1,2`.
    #[arg(long, value_name = "KEY=V1,V2,...")]
    pub sweep: Option<String>,
    /// With `--sweep`: also write the frontier (misses against p99 and against p50) as SVG.
    #[arg(long, value_name = "FILE", requires = "sweep")]
    pub plot: Option<PathBuf>,
    /// With `--trace`: write, minute by minute, the busiest label's arrivals and, per
    /// policy, its mean copies and the loads of all other labels (CSV; first seed only).
    #[arg(long, value_name = "FILE", requires = "trace")]
    pub copies: Option<PathBuf>,
}

impl Default for SimulateArgs {
    fn default() -> Self {
        Self {
            workers: None,
            max_labels: None,
            slots: None,
            requests: 2400,
            producers: 2,
            wait_avg: 0.75,
            wait_stddev: 1.0,
            labels: 4,
            task_types: Vec::new(),
            trace: Vec::new(),
            policy: "all".to_owned(),
            seed: 1,
            seeds: 1,
            time_scale: 1.0,
            tick: 0.1,
            json: false,
            config: None,
            set: Vec::new(),
            misbehave: Vec::new(),
            tenant: Vec::new(),
            sweep: None,
            plot: None,
            copies: None,
        }
    }
}

/// The shortest and longest `--tick` (unscaled seconds).
const MIN_TICK_S: f64 = 0.001;
const MAX_TICK_S: f64 = 60.0;

/// Why `simulate` could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    // The underlying errors are part of each message, not chained as a `source` as well:
    // a chain printer would repeat them.
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    #[error("cannot read trace {path}: {error}")]
    ReadTrace {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Trace { path: PathBuf, error: TraceError },
    #[error("{path} is a trace, not an event log: several --trace files must all be parts of one event log")]
    NotAnEventLog { path: PathBuf },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("policy {policy}, seed {seed}: {error}")]
    Broken {
        policy: Policy,
        seed: u64,
        error: Broken,
    },
}

impl SimError {
    /// Whether the user can fix it (a bad flag, config file or trace), rather than a
    /// failure while running.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SimError::InvalidArgs(_)
                | SimError::ReadTrace { .. }
                | SimError::Trace { .. }
                | SimError::NotAnEventLog { .. }
                | SimError::Config(_)
        )
    }
}

/// Refuses an output file that cannot be written because its folder is missing or it is
/// a folder itself, before any simulating (a permission error still shows when writing).
fn check_output(flag: &str, path: &std::path::Path) -> Result<(), SimError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let problem = if path.is_dir() {
        "is a folder"
    } else if !folder.is_dir() {
        "is in a folder that does not exist"
    } else {
        return Ok(());
    };
    Err(SimError::InvalidArgs(format!(
        "{flag} {}: {problem}",
        path.display()
    )))
}

/// Parses `--policy`: a name, a comma-separated list, or `all`.
pub fn parse_policies(text: &str) -> Result<Vec<Policy>, SimError> {
    if text.trim() == "all" {
        return Ok(Policy::ALL.to_vec());
    }
    let mut policies = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let policy: Policy = name.parse().map_err(SimError::InvalidArgs)?;
        if !policies.contains(&policy) {
            policies.push(policy);
        }
    }
    if policies.is_empty() {
        return Err(SimError::InvalidArgs("--policy names no policy".to_owned()));
    }
    Ok(policies)
}

impl SimulateArgs {
    fn validate(&self) -> Result<Vec<String>, SimError> {
        let invalid = |m: &str| Err(SimError::InvalidArgs(m.to_owned()));
        if [self.workers, self.max_labels, self.slots].contains(&Some(0)) {
            return invalid("--workers, --max-labels and --slots must be at least 1");
        }
        if !(self.time_scale > 0.0 && self.time_scale.is_finite()) {
            return invalid("--time-scale must be a positive number");
        }
        // Virtual time advances tick by tick: a tiny tick, or think times of ages, would
        // keep the simulator busy for hours.
        if !(MIN_TICK_S..=MAX_TICK_S).contains(&self.tick) {
            return invalid("--tick must be from 0.001 to 60 seconds");
        }
        if self.seeds == 0 {
            return invalid("--seeds must be at least 1");
        }
        if self.trace.is_empty() && (self.producers == 0 || self.labels == 0) {
            return invalid("--producers and --labels must be at least 1");
        }
        if let Err(message) = workload::check_think_times(self.wait_avg, self.wait_stddev) {
            return invalid(message);
        }
        for (flag, path) in [("--plot", &self.plot), ("--copies", &self.copies)] {
            if let Some(path) = path {
                check_output(flag, path)?;
            }
        }
        let types = workload::task_types_or_default(&self.task_types);
        if !self.trace.is_empty() {
            return Ok(types); // checked against the trace's entries once read
        }
        if let Some(unknown) = types.iter().find(|t| !workload::is_simulated_type(t)) {
            return Err(SimError::InvalidArgs(format!(
                "the simulated workers cannot run task type '{unknown}' (known: {})",
                workload::DEFAULT_TASK_TYPES.join(", ")
            )));
        }
        Ok(types)
    }

    /// The misbehaving workers `--misbehave` names.
    fn misbehaving(&self, workers: u32) -> Result<Vec<(u32, Misbehaviour)>, SimError> {
        self.misbehave
            .iter()
            .map(|item| {
                let invalid = |reason: String| {
                    SimError::InvalidArgs(format!("--misbehave '{item}': {reason}"))
                };
                let (index, kind) = item
                    .split_once(':')
                    .ok_or_else(|| invalid("expected INDEX:KIND, e.g. 1:fail=0.3".into()))?;
                let index: u32 = index
                    .trim()
                    .parse()
                    .ok()
                    .filter(|i| *i < workers)
                    .ok_or_else(|| {
                        invalid(format!(
                            "no worker '{index}' (0 to {})",
                            workers.saturating_sub(1)
                        ))
                    })?;
                Ok((index, kind.trim().parse().map_err(invalid)?))
            })
            .collect()
    }

    /// The scenario these flags describe (reads the trace file, if any).
    pub fn scenario(&self) -> Result<Scenario, SimError> {
        let mut task_types = self.validate()?;
        let mut recorded = None;
        let arrivals = if self.trace.is_empty() {
            Arrivals::Closed {
                requests: self.requests,
                producers: self.producers,
                model: ProducerModel {
                    labels: self.labels,
                    task_types: task_types.clone(),
                    wait_avg: self.wait_avg,
                    wait_stddev: self.wait_stddev,
                },
            }
        } else {
            let (entries, pool) = read_trace(&self.trace)?;
            recorded = pool;
            task_types = trace_task_types(&entries, &self.task_types);
            check_run_times(&entries, &task_types)?;
            Arrivals::Trace(entries)
        };
        // Flags first, then the pool the event log recorded, then the defaults.
        let pick = |flag: Option<u32>, logged: Option<u32>, default: u32| {
            flag.or(logged).unwrap_or(default)
        };
        let pool_from_log =
            recorded.is_some() && [self.workers, self.max_labels, self.slots].contains(&None);
        let workers = pick(self.workers, recorded.map(|p| p.workers), 2);
        let routing = self.routing_config()?;
        let tenants = super::tenants::parse(&self.tenant, &arrivals)?;
        Ok(Scenario {
            workers,
            max_labels: pick(self.max_labels, recorded.map(|p| p.max_labels), 2),
            slots: pick(self.slots, recorded.map(|p| p.slots), 1),
            pool_from_log,
            task_types,
            arrivals,
            time_scale: self.time_scale,
            tick_s: self.tick,
            routing,
            misbehaving: self.misbehaving(workers)?,
            tenants,
        })
    }

    pub(super) fn config_json(&self, scenario: &Scenario) -> Map<String, Value> {
        let mut c = Map::new();
        c.insert("workers".into(), scenario.workers.into());
        c.insert("max_labels".into(), scenario.max_labels.into());
        c.insert("slots".into(), scenario.slots.into());
        if scenario.pool_from_log {
            c.insert("pool".into(), "as the event log recorded".into());
        }
        if !self.misbehave.is_empty() {
            c.insert("misbehave".into(), self.misbehave.clone().into());
        }
        if !self.tenant.is_empty() {
            c.insert("tenants".into(), self.tenant.clone().into());
        }
        match &scenario.arrivals {
            Arrivals::Closed {
                requests,
                producers,
                model,
            } => {
                c.insert("requests".into(), (*requests).into());
                c.insert("producers".into(), (*producers).into());
                c.insert("wait_avg".into(), model.wait_avg.into());
                c.insert("wait_stddev".into(), model.wait_stddev.into());
                c.insert("labels".into(), model.labels.into());
            }
            Arrivals::Trace(entries) => {
                let paths: Vec<String> =
                    self.trace.iter().map(|p| p.display().to_string()).collect();
                c.insert("trace".into(), paths.join(" ").into());
                c.insert("requests".into(), entries.len().into());
                let bound = loads_lower_bound(entries, scenario.slots);
                c.insert("loads_lower_bound".into(), bound.total().into());
                c.insert("distinct_labels".into(), bound.distinct.into());
            }
        }
        c.insert("task_types".into(), scenario.task_types.clone().into());
        c.insert("time_scale".into(), self.time_scale.into());
        c.insert("seed".into(), self.seed.into());
        c.insert("seeds".into(), self.seeds.into());
        c
    }
}

/// Runs the simulation the flags describe and returns the text to print: a table, or
/// JSON with `--json`. With `--sweep`, the frontier (and `--plot` writes its SVG).
pub fn run(args: &SimulateArgs) -> Result<String, SimError> {
    if args.sweep.is_some() {
        let sweep = sweep::run(args)?;
        if let Some(path) = &args.plot {
            std::fs::write(path, sweep.to_svg()).map_err(|error| SimError::Write {
                path: path.clone(),
                error,
            })?;
        }
        return Ok(if args.json {
            sweep.to_json_string() + "\n"
        } else {
            sweep.to_table()
        });
    }
    if let Some(path) = &args.copies {
        let csv = copies_csv(&args.scenario()?, &parse_policies(&args.policy)?, args.seed)?;
        std::fs::write(path, csv).map_err(|error| SimError::Write {
            path: path.clone(),
            error,
        })?;
    }
    let report = report(args)?;
    Ok(if args.json {
        report.to_json_string() + "\n"
    } else {
        report.to_table()
    })
}

/// Runs every requested policy over every seed; one averaged column per policy.
pub fn report(args: &SimulateArgs) -> Result<Report, SimError> {
    let policies = parse_policies(&args.policy)?;
    let scenario = args.scenario()?;
    let mut results = Vec::new();
    for policy in policies {
        results.push((
            policy.name().to_owned(),
            run_seeds(args, &scenario, policy)?,
        ));
    }
    Ok(Report {
        config: args.config_json(&scenario),
        results,
    })
}

/// One policy over every seed of `args`, averaged.
pub(super) fn run_seeds(
    args: &SimulateArgs,
    scenario: &Scenario,
    policy: Policy,
) -> Result<PolicyResult, SimError> {
    let runs = (0..u64::from(args.seeds))
        .map(|i| {
            let seed = args.seed.wrapping_add(i);
            simulate(scenario, policy, seed)
                .map(|s| PolicyResult::from_samples(&s, args.time_scale, false))
                .map_err(|error| SimError::Broken {
                    policy,
                    seed,
                    error,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    PolicyResult::average(&runs)
        .ok_or_else(|| SimError::InvalidArgs("--seeds must be at least 1".to_owned()))
}
