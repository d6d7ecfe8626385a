//! The benchmark report shared by `simulate` and `bench`: what one run measured, the
//! figures derived from it, a text table with one column per policy (laid out like the
//! original benchmark's summary) and the JSON form whose key names scripts rely on.
//!
//! Pure data and formatting: no clock, no IO.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Raw measurements of one run, in the run's own (scaled) seconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Requests sent (or trace entries submitted).
    pub requests: u64,
    /// Requests that did not complete: refused, failed on the worker, or lost.
    pub failed: u64,
    /// Tasks that ran after their worker loaded the label (the worker's label misses).
    pub label_misses: u64,
    /// Every label load the workers carried out, misses and preloads alike; `None` when
    /// the run cannot see loads that no task reported (a live benchmark).
    pub loads: Option<u64>,
    /// Per completed task: load + run seconds on the worker.
    pub task_runtimes_s: Vec<f64>,
    /// Per completed request: seconds from sending it to its result.
    pub latencies_s: Vec<f64>,
    /// Seconds from the first request sent to the last result received.
    pub makespan_s: f64,
    /// Per completed request of a tenant (when requests name one), as `latencies_s`.
    pub tenant_latencies_s: BTreeMap<String, Vec<f64>>,
}

/// One tenant's latencies, in original seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantLatency {
    pub completed: f64,
    pub mean_s: f64,
    pub p50_s: f64,
    pub p99_s: f64,
}

/// The figures of one policy, in original (unscaled) seconds. Counts are `f64` so that
/// results averaged over seeds keep their fractions.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyResult {
    pub requests: f64,
    pub completed: f64,
    pub failed: f64,
    pub label_misses: f64,
    pub loads: Option<f64>,
    pub mean_task_runtime_s: f64,
    pub latency_mean_s: f64,
    pub latency_p50_s: f64,
    pub latency_p95_s: f64,
    pub latency_p99_s: f64,
    pub makespan_s: f64,
    /// Completed requests per second of makespan (reported by `bench`).
    pub throughput_per_s: Option<f64>,
    /// Each tenant's latencies, when requests name tenants.
    pub tenants: BTreeMap<String, TenantLatency>,
}

/// The `q`-quantile (0..=1) of sorted values by nearest rank; 0 for none.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

impl PolicyResult {
    /// Derives the figures from raw samples taken at `time_scale`; times are divided by it.
    /// `with_throughput` adds `throughput_per_s`.
    pub fn from_samples(samples: &Samples, time_scale: f64, with_throughput: bool) -> Self {
        let scale = if time_scale > 0.0 { time_scale } else { 1.0 };
        let tenants = samples
            .tenant_latencies_s
            .iter()
            .map(|(name, latencies)| {
                let mut sorted: Vec<f64> = latencies.iter().map(|l| l / scale).collect();
                sorted.sort_by(f64::total_cmp);
                let latency = TenantLatency {
                    completed: sorted.len() as f64,
                    mean_s: mean(&sorted),
                    p50_s: quantile(&sorted, 0.50),
                    p99_s: quantile(&sorted, 0.99),
                };
                (name.clone(), latency)
            })
            .collect();
        let mut latencies: Vec<f64> = samples.latencies_s.iter().map(|l| l / scale).collect();
        latencies.sort_by(f64::total_cmp);
        let completed = latencies.len() as f64;
        let makespan_s = samples.makespan_s / scale;
        Self {
            requests: samples.requests as f64,
            completed,
            failed: samples.failed as f64,
            label_misses: samples.label_misses as f64,
            loads: samples.loads.map(|l| l as f64),
            mean_task_runtime_s: mean(&samples.task_runtimes_s) / scale,
            latency_mean_s: mean(&latencies),
            latency_p50_s: quantile(&latencies, 0.50),
            latency_p95_s: quantile(&latencies, 0.95),
            latency_p99_s: quantile(&latencies, 0.99),
            makespan_s,
            throughput_per_s: with_throughput.then(|| {
                if makespan_s > 0.0 {
                    completed / makespan_s
                } else {
                    0.0
                }
            }),
            tenants,
        }
    }

    /// The field-by-field mean of several runs (one per seed); `None` for no runs.
    pub fn average(runs: &[PolicyResult]) -> Option<Self> {
        let n = runs.len() as f64;
        let avg = |f: fn(&PolicyResult) -> f64| runs.iter().map(f).sum::<f64>() / n;
        let avg_opt = |f: fn(&PolicyResult) -> Option<f64>| {
            runs.iter()
                .map(f)
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.iter().sum::<f64>() / n)
        };
        (!runs.is_empty()).then(|| Self {
            requests: avg(|r| r.requests),
            completed: avg(|r| r.completed),
            failed: avg(|r| r.failed),
            label_misses: avg(|r| r.label_misses),
            loads: avg_opt(|r| r.loads),
            mean_task_runtime_s: avg(|r| r.mean_task_runtime_s),
            latency_mean_s: avg(|r| r.latency_mean_s),
            latency_p50_s: avg(|r| r.latency_p50_s),
            latency_p95_s: avg(|r| r.latency_p95_s),
            latency_p99_s: avg(|r| r.latency_p99_s),
            makespan_s: avg(|r| r.makespan_s),
            throughput_per_s: avg_opt(|r| r.throughput_per_s),
            tenants: average_tenants(runs),
        })
    }

    /// The JSON object of one policy, with the key names scripts rely on.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("requests".into(), count(self.requests));
        m.insert("completed".into(), count(self.completed));
        m.insert("failed".into(), count(self.failed));
        m.insert("label_misses".into(), count(self.label_misses));
        if let Some(loads) = self.loads {
            m.insert("loads".into(), count(loads));
        }
        m.insert(
            "mean_task_runtime_s".into(),
            seconds(self.mean_task_runtime_s),
        );
        m.insert("latency_mean_s".into(), seconds(self.latency_mean_s));
        m.insert("latency_p50_s".into(), seconds(self.latency_p50_s));
        m.insert("latency_p95_s".into(), seconds(self.latency_p95_s));
        m.insert("latency_p99_s".into(), seconds(self.latency_p99_s));
        m.insert("makespan_s".into(), seconds(self.makespan_s));
        if let Some(throughput) = self.throughput_per_s {
            m.insert("throughput_per_s".into(), seconds(throughput));
        }
        if !self.tenants.is_empty() {
            let tenants: Map<String, Value> = self
                .tenants
                .iter()
                .map(|(name, t)| {
                    let mut o = Map::new();
                    o.insert("completed".into(), count(t.completed));
                    o.insert("latency_mean_s".into(), seconds(t.mean_s));
                    o.insert("latency_p50_s".into(), seconds(t.p50_s));
                    o.insert("latency_p99_s".into(), seconds(t.p99_s));
                    (name.clone(), Value::Object(o))
                })
                .collect();
            m.insert("tenants".into(), Value::Object(tenants));
        }
        Value::Object(m)
    }
}

/// Each tenant's figures averaged over the runs it appears in.
fn average_tenants(runs: &[PolicyResult]) -> BTreeMap<String, TenantLatency> {
    let mut sums: BTreeMap<String, (f64, TenantLatency)> = BTreeMap::new();
    for (name, t) in runs.iter().flat_map(|r| &r.tenants) {
        let zero = TenantLatency {
            completed: 0.0,
            mean_s: 0.0,
            p50_s: 0.0,
            p99_s: 0.0,
        };
        let (n, sum) = sums.entry(name.clone()).or_insert((0.0, zero));
        *n += 1.0;
        sum.completed += t.completed;
        sum.mean_s += t.mean_s;
        sum.p50_s += t.p50_s;
        sum.p99_s += t.p99_s;
    }
    sums.into_iter()
        .map(|(name, (n, s))| {
            let avg = TenantLatency {
                completed: s.completed / n,
                mean_s: s.mean_s / n,
                p50_s: s.p50_s / n,
                p99_s: s.p99_s / n,
            };
            (name, avg)
        })
        .collect()
}

/// A count as an integer when it is one (a single run), else with its fraction (a mean).
fn count(value: f64) -> Value {
    if value.fract() == 0.0 && value >= 0.0 && value < u64::MAX as f64 {
        Value::from(value as u64)
    } else {
        seconds(value)
    }
}

/// A figure rounded to the microsecond, so JSON stays readable.
fn seconds(value: f64) -> Value {
    let rounded = (value * 1e6).round() / 1e6;
    serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
}

/// A whole report: the run's configuration and one result per policy, in column order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub config: Map<String, Value>,
    pub results: Vec<(String, PolicyResult)>,
}

impl Report {
    /// `{"config":{...},"results":{"<policy>":{...}}}`.
    pub fn to_json(&self) -> Value {
        let results: Map<String, Value> = self
            .results
            .iter()
            .map(|(name, r)| (name.clone(), r.to_json()))
            .collect();
        let mut root = Map::new();
        root.insert("config".into(), Value::Object(self.config.clone()));
        root.insert("results".into(), Value::Object(results));
        Value::Object(root)
    }

    /// The JSON form, pretty-printed.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()
    }

    /// A text table: one row per figure, one column per policy, under a config line.
    pub fn to_table(&self) -> String {
        type Row = (&'static str, fn(&PolicyResult) -> Option<String>);
        let rows: [Row; 12] = [
            ("Total Requests", |r| Some(int_fmt(r.requests))),
            ("Tasks Completed", |r| Some(int_fmt(r.completed))),
            ("Total Failed Requests", |r| Some(int_fmt(r.failed))),
            ("Total Label Misses", |r| Some(int_fmt(r.label_misses))),
            ("Total Label Loads", |r| r.loads.map(int_fmt)),
            ("Average Task Runtime (s)", |r| {
                Some(format!("{:.4}", r.mean_task_runtime_s))
            }),
            ("Latency mean (s)", |r| {
                Some(format!("{:.3}", r.latency_mean_s))
            }),
            ("Latency p50 (s)", |r| {
                Some(format!("{:.3}", r.latency_p50_s))
            }),
            ("Latency p95 (s)", |r| {
                Some(format!("{:.3}", r.latency_p95_s))
            }),
            ("Latency p99 (s)", |r| {
                Some(format!("{:.3}", r.latency_p99_s))
            }),
            ("Makespan (s)", |r| Some(format!("{:.1}", r.makespan_s))),
            ("Throughput (req/s)", |r| {
                r.throughput_per_s.map(|t| format!("{t:.3}"))
            }),
        ];
        // Each row's label and its cell per policy: the fixed rows, then each tenant's.
        let mut lines: Vec<(String, Vec<Option<String>>)> = rows
            .iter()
            .map(|(label, f)| {
                let cells = self.results.iter().map(|(_, r)| f(r)).collect();
                ((*label).to_owned(), cells)
            })
            .collect();
        let tenants: std::collections::BTreeSet<&String> = self
            .results
            .iter()
            .flat_map(|(_, r)| r.tenants.keys())
            .collect();
        for tenant in tenants {
            type Figure = fn(&TenantLatency) -> f64;
            let figures: [(&str, Figure); 2] = [("mean", |t| t.mean_s), ("p99", |t| t.p99_s)];
            for (what, figure) in figures {
                let cells = self
                    .results
                    .iter()
                    .map(|(_, r)| r.tenants.get(tenant).map(|t| format!("{:.3}", figure(t))))
                    .collect();
                lines.push((format!("Latency {what} (s) [{tenant}]"), cells));
            }
        }
        let label_width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let cells: Vec<Vec<Option<String>>> = (0..self.results.len())
            .map(|col| lines.iter().map(|(_, row)| row[col].clone()).collect())
            .collect();
        let widths: Vec<usize> = self
            .results
            .iter()
            .zip(&cells)
            .map(|((name, _), col)| {
                col.iter()
                    .flatten()
                    .map(String::len)
                    .chain([name.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        if !self.config.is_empty() {
            let config: Vec<String> = self
                .config
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            out.push_str(&format!("Config: {}\n", config.join(" ")));
        }
        out.push_str(&format!("{:label_width$}", ""));
        for ((name, _), w) in self.results.iter().zip(&widths) {
            out.push_str(&format!("  {name:>w$}"));
        }
        out.push('\n');
        for (i, (label, _)) in lines.iter().enumerate() {
            if cells.iter().all(|col| col[i].is_none()) {
                continue;
            }
            out.push_str(&format!("{label:label_width$}"));
            for (col, w) in cells.iter().zip(&widths) {
                let cell = col[i].as_deref().unwrap_or("-");
                out.push_str(&format!("  {cell:>w$}"));
            }
            out.push('\n');
        }
        out
    }
}

/// A count for the table: whole when it is, one decimal when it is a mean.
fn int_fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Samples {
        Samples {
            requests: 4,
            failed: 1,
            label_misses: 2,
            loads: Some(3),
            task_runtimes_s: vec![0.1, 0.3, 0.2],
            latencies_s: vec![0.4, 0.1, 0.2],
            makespan_s: 1.0,
            tenant_latencies_s: BTreeMap::new(),
        }
    }

    #[test]
    fn json_has_exactly_the_documented_keys() {
        let result = PolicyResult::from_samples(&samples(), 0.1, true);
        let report = Report {
            config: Map::from_iter([("workers".to_owned(), Value::from(2))]),
            results: vec![("affinity".to_owned(), result)],
        };
        let json = report.to_json();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["config", "results"]);
        let r = json["results"]["affinity"].as_object().unwrap();
        let mut keys: Vec<&str> = r.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = vec![
            "requests",
            "completed",
            "failed",
            "label_misses",
            "loads",
            "mean_task_runtime_s",
            "latency_mean_s",
            "latency_p50_s",
            "latency_p95_s",
            "latency_p99_s",
            "makespan_s",
            "throughput_per_s",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(r["requests"], Value::from(4));
        assert_eq!(r["completed"], Value::from(3));
        assert_eq!(r["label_misses"], Value::from(2));
        // Times are divided by the time scale.
        assert_eq!(r["makespan_s"].as_f64(), Some(10.0));
        assert_eq!(r["latency_p99_s"].as_f64(), Some(4.0));
        assert_eq!(r["mean_task_runtime_s"].as_f64(), Some(2.0));
    }

    #[test]
    fn optional_figures_are_left_out_of_the_json_when_unknown() {
        let mut s = samples();
        s.loads = None;
        let r = PolicyResult::from_samples(&s, 1.0, false).to_json();
        assert!(r.get("loads").is_none());
        assert!(r.get("throughput_per_s").is_none());
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.5), 50.0);
        assert_eq!(quantile(&sorted, 0.99), 99.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
    }

    #[test]
    fn averages_keep_fractions_and_the_table_has_a_column_per_policy() {
        let a = PolicyResult::from_samples(&samples(), 1.0, false);
        let mut b = a.clone();
        b.label_misses = 3.0;
        let avg = PolicyResult::average(&[a.clone(), b]).unwrap();
        assert_eq!(avg.label_misses, 2.5);
        assert_eq!(avg.to_json()["label_misses"].as_f64(), Some(2.5));
        let report = Report {
            config: Map::new(),
            results: vec![("affinity".into(), avg), ("random".into(), a)],
        };
        let table = report.to_table();
        assert!(table.contains("Total Label Misses"));
        let misses = table
            .lines()
            .find(|l| l.starts_with("Total Label Misses"))
            .unwrap();
        assert_eq!(
            misses.split_whitespace().skip(3).collect::<Vec<_>>(),
            ["2.5", "2"]
        );
        assert!(!table.contains("Throughput"));
    }
}
