//! `simulate --copies FILE`: how the busiest label's copies follow its demand, minute by
//! minute, under each policy, next to the loads of every other label (a policy that
//! thrashes the cold labels to replicate the hot one shows there). CSV.

use std::collections::HashMap;
use std::fmt::Write;

use super::engine::{simulate_logged, LabelMove, Logged};
use super::scenario::{Arrivals, Scenario};
use crate::routing::Policy;

/// Seconds per row.
pub const BUCKET_S: f64 = 60.0;

/// The label with the most arrivals (ties: the first to arrive); `None` for closed loops.
pub fn busiest_label(scenario: &Scenario) -> Option<String> {
    let Arrivals::Trace(entries) = &scenario.arrivals else {
        return None;
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in entries {
        *counts.entry(e.label.as_str()).or_default() += 1;
    }
    entries
        .iter()
        .map(|e| e.label.as_str())
        .max_by_key(|l| {
            (
                counts[l],
                std::cmp::Reverse(entries.iter().position(|e| e.label == *l)),
            )
        })
        .map(str::to_owned)
}

/// Per bucket: the time-weighted mean of a value that is 0 until the first step and
/// takes each step's value from its time on.
fn mean_per_bucket(steps: impl IntoIterator<Item = (f64, f64)>, buckets: usize) -> Vec<f64> {
    let mut sums = vec![0.0; buckets];
    let (mut value, mut since) = (0.0f64, 0.0f64);
    let mut account = |until: f64, value: f64, since: f64| {
        let mut t = since;
        while t < until {
            let b = (t / BUCKET_S) as usize;
            let end = ((b + 1) as f64 * BUCKET_S).min(until);
            if b < buckets {
                sums[b] += value * (end - t);
            }
            t = end;
        }
    };
    for (at_s, next) in steps {
        account(at_s, value, since);
        (value, since) = (next, at_s);
    }
    account(buckets as f64 * BUCKET_S, value, since);
    sums.iter().map(|s| s / BUCKET_S).collect()
}

/// Per bucket: the time-weighted mean copies of `label`, and the loads of other labels.
fn per_bucket(moves: &[LabelMove], label: &str, buckets: usize) -> (Vec<f64>, Vec<u32>) {
    let mut others = vec![0u32; buckets];
    for m in moves.iter().filter(|m| m.label != label && m.delta > 0) {
        let b = (m.at_s / BUCKET_S) as usize;
        if b < buckets {
            others[b] += 1;
        }
    }
    let copies = moves
        .iter()
        .filter(|m| m.label == label)
        .scan(0i64, |copies, m| {
            *copies += i64::from(m.delta);
            Some((m.at_s, *copies as f64))
        });
    (mean_per_bucket(copies, buckets), others)
}

/// The CSV: `minute,<label>_arrivals` then, per policy, `<policy>_copies`,
/// `<policy>_target` (the planner's target copies, 0 where it plans none) and
/// `<policy>_other_loads`.
pub fn copies_csv(
    scenario: &Scenario,
    policies: &[Policy],
    seed: u64,
) -> Result<String, super::cli::SimError> {
    let label = busiest_label(scenario)
        .ok_or_else(|| super::cli::SimError::InvalidArgs("--copies needs --trace".to_owned()))?;
    let Arrivals::Trace(entries) = &scenario.arrivals else {
        unreachable!("busiest_label returned a label")
    };
    let end = entries.last().map_or(0.0, |e| e.at_s);
    let buckets = (end / BUCKET_S).floor() as usize + 1;
    let mut arrivals = vec![0u32; buckets];
    for e in entries.iter().filter(|e| e.label == label) {
        arrivals[(e.at_s / BUCKET_S) as usize] += 1;
    }
    let mut columns = Vec::new();
    for policy in policies {
        let Logged { moves, targets, .. } = simulate_logged(scenario, *policy, seed, &label)
            .map_err(|error| super::cli::SimError::Broken {
                policy: *policy,
                seed,
                error,
            })?;
        let (copies, others) = per_bucket(&moves, &label, buckets);
        let targets = mean_per_bucket(targets.iter().map(|(t, n)| (*t, f64::from(*n))), buckets);
        columns.push((policy.name(), (copies, targets, others)));
    }
    let mut out = format!("minute,{label}_arrivals");
    for (name, _) in &columns {
        let _ = write!(out, ",{name}_copies,{name}_target,{name}_other_loads");
    }
    out.push('\n');
    for b in 0..buckets {
        let _ = write!(out, "{b},{}", arrivals[b]);
        for (_, (copies, targets, others)) in &columns {
            let _ = write!(out, ",{:.2},{:.2},{}", copies[b], targets[b], others[b]);
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(at_s: f64, label: &str, delta: i8) -> LabelMove {
        LabelMove {
            at_s,
            label: label.to_owned(),
            delta,
        }
    }

    #[test]
    fn copies_are_time_weighted_per_bucket_and_other_loads_counted() {
        // hot: 1 copy from 30 s, a second from 60 s to 90 s; cold loads at 10 s and 70 s.
        let moves = [
            mv(10.0, "cold", 1),
            mv(30.0, "hot", 1),
            mv(60.0, "hot", 1),
            mv(70.0, "cold", 1),
            mv(80.0, "cold", -1),
            mv(90.0, "hot", -1),
        ];
        let (copies, others) = per_bucket(&moves, "hot", 2);
        assert_eq!(copies, vec![0.5, 1.5]);
        assert_eq!(others, vec![1, 1]);
    }

    #[test]
    fn targets_are_time_weighted_per_bucket() {
        // 0 until 30 s, 4 until 90 s, then 2.
        let targets = mean_per_bucket([(0.0, 0.0), (30.0, 4.0), (90.0, 2.0)], 2);
        assert_eq!(targets, vec![2.0, 3.0]);
    }
}
