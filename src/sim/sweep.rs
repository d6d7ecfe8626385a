//! `simulate --sweep KEY=v1,v2,...`: `affinity` once per value of one `[routing]` setting,
//! the other requested policies once as reference points, and the resulting frontier of
//! label misses against latency as a table, JSON or SVG.

use serde_json::{Map, Value};

use super::cli::{parse_policies, run_seeds, SimError, SimulateArgs};
use super::plot::{Plot, Point, Series};
use super::settings::split_setting;
use crate::report::PolicyResult;
use crate::routing::Policy;

/// The frontier one setting traces, and where the other policies sit.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub key: String,
    /// `(value as given, affinity's result)`, in the order given.
    pub points: Vec<(String, PolicyResult)>,
    /// Other policies (the setting does not change them), by name.
    pub others: Vec<(String, PolicyResult)>,
    pub config: Map<String, Value>,
}

/// Runs the sweep `args.sweep` describes.
pub fn run(args: &SimulateArgs) -> Result<Sweep, SimError> {
    let spec = args.sweep.as_deref().unwrap_or_default();
    let (key, values) = split_setting(spec, "--sweep")?;
    let values: Vec<&str> = values
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return Err(SimError::InvalidArgs(format!(
            "--sweep {key}= names no value"
        )));
    }
    let mut scenario = args.scenario()?;
    let base = args.sections()?.routing;
    // The swept `[routing]` knob over the scenario's whole config (health, placement).
    let whole = scenario.routing.clone();
    let mut points = Vec::new();
    for value in &values {
        let mut section = base.clone();
        section.set(key, value)?;
        scenario.routing = section.apply(whole.clone());
        points.push((
            (*value).to_owned(),
            run_seeds(args, &scenario, Policy::Affinity)?,
        ));
    }
    scenario.routing = whole;
    let mut others = Vec::new();
    for policy in parse_policies(&args.policy)? {
        if policy != Policy::Affinity {
            others.push((
                policy.name().to_owned(),
                run_seeds(args, &scenario, policy)?,
            ));
        }
    }
    let mut config = args.config_json(&scenario);
    config.insert("sweep".into(), key.into());
    Ok(Sweep {
        key: key.to_owned(),
        points,
        others,
        config,
    })
}

impl Sweep {
    /// `{"config":{...},"sweep":{"key":K,"points":[{"value":V,...}]},"results":{...}}`.
    pub fn to_json(&self) -> Value {
        let points: Vec<Value> = self
            .points
            .iter()
            .map(|(value, r)| {
                let mut m = match r.to_json() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                m.insert("value".into(), value.clone().into());
                Value::Object(m)
            })
            .collect();
        let others: Map<String, Value> = self
            .others
            .iter()
            .map(|(name, r)| (name.clone(), r.to_json()))
            .collect();
        serde_json::json!({
            "config": self.config,
            "sweep": {"key": self.key, "policy": "affinity", "points": points},
            "results": others,
        })
    }

    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()
    }

    /// One row per value of the setting, then one per other policy.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let config: Vec<String> = self
            .config
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
            .collect();
        out.push_str(&format!("Config: {}\n", config.join(" ")));
        out.push_str(&format!(
            "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            "", "misses", "loads", "mean s", "p50 s", "p95 s", "p99 s"
        ));
        let row = |name: String, r: &PolicyResult| {
            format!(
                "{:<28} {:>9.1} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3}\n",
                name,
                r.label_misses,
                r.loads.map_or("-".to_owned(), |l| format!("{l:.1}")),
                r.latency_mean_s,
                r.latency_p50_s,
                r.latency_p95_s,
                r.latency_p99_s
            )
        };
        for (value, r) in &self.points {
            out.push_str(&row(format!("affinity {}={value}", self.key), r));
        }
        for (name, r) in &self.others {
            out.push_str(&row(name.clone(), r));
        }
        out
    }

    /// Misses against p99 and against p50: the sweep as a line, the others as points.
    pub fn to_svg(&self) -> String {
        let curve = Series {
            name: format!("affinity, {}", self.key),
            line: true,
            points: self
                .points
                .iter()
                .map(|(value, r)| Point {
                    label: value.clone(),
                    misses: r.label_misses,
                    p50: r.latency_p50_s,
                    p99: r.latency_p99_s,
                })
                .collect(),
        };
        let mut series = vec![curve];
        series.extend(self.others.iter().map(|(name, r)| Series {
            name: name.clone(),
            line: false,
            points: vec![Point {
                label: String::new(),
                misses: r.label_misses,
                p50: r.latency_p50_s,
                p99: r.latency_p99_s,
            }],
        }));
        Plot {
            title: format!("Simulated frontier: affinity over {}", self.key),
            series,
        }
        .to_svg()
    }
}
