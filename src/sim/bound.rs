//! A lower bound on the label loads a trace needs: every distinct label is loaded once,
//! and a label whose measured work in some window exceeds what one copy can serve needs
//! that many copies at once, each loaded at least once.

use std::collections::HashMap;

use super::trace::TraceEntry;
use crate::workload;

/// Window over which a label's demand must be served, in unscaled seconds.
pub const WINDOW_S: f64 = 60.0;

/// The bound and its two parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadBound {
    /// Distinct labels in the trace: each needs one load.
    pub distinct: u64,
    /// Copies beyond the first that the busiest window of each label requires.
    pub extra_copies: u64,
}

impl LoadBound {
    pub fn total(&self) -> u64 {
        self.distinct + self.extra_copies
    }
}

/// Expected unscaled run seconds of an entry: its own `run_s`, else the simulated type's
/// mean (1 s or 5 s), else nothing (it adds no work).
fn run_s(entry: &TraceEntry) -> f64 {
    entry.run_s.unwrap_or(match entry.task_type.as_str() {
        workload::SAMPLE_TASK_1 => 1.0,
        workload::SAMPLE_TASK_2 => 5.0,
        _ => 0.0,
    })
}

/// For each label, the most copies it needs in any window of [`WINDOW_S`] (aligned to
/// the trace's start): its run seconds in the window over what `slots` tasks at once
/// can run in it, rounded up; at least one. The bound is the sum over labels.
pub fn loads_lower_bound(entries: &[TraceEntry], slots: u32) -> LoadBound {
    let mut work: HashMap<(&str, u64), f64> = HashMap::new();
    let mut labels: HashMap<&str, u64> = HashMap::new();
    for entry in entries {
        let window = (entry.at_s / WINDOW_S).floor() as u64;
        *work.entry((entry.label.as_str(), window)).or_default() += run_s(entry);
        labels.entry(entry.label.as_str()).or_insert(1);
    }
    let capacity = WINDOW_S * f64::from(slots.max(1));
    for ((label, _), seconds) in work {
        let copies = (seconds / capacity).ceil().max(1.0) as u64;
        let most = labels.entry(label).or_insert(1);
        *most = (*most).max(copies);
    }
    LoadBound {
        distinct: labels.len() as u64,
        extra_copies: labels.values().map(|c| c - 1).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_s: f64, label: &str, run_s: f64) -> TraceEntry {
        TraceEntry {
            at_s,
            label: label.to_owned(),
            task_type: "t".to_owned(),
            run_s: Some(run_s),
            load_s: None,
            tenant: None,
        }
    }

    #[test]
    fn distinct_labels_plus_the_copies_busy_windows_need() {
        type Case = (&'static str, Vec<TraceEntry>, u32, u64, u64);
        let cases: Vec<Case> = vec![
            (
                "one task per label",
                vec![entry(0.0, "a", 1.0), entry(1.0, "b", 1.0)],
                1,
                2,
                0,
            ),
            (
                // 150 s of work for `a` in the first minute: 3 copies of one slot.
                "a hot window",
                (0..30).map(|i| entry(f64::from(i), "a", 5.0)).collect(),
                1,
                1,
                2,
            ),
            (
                "two slots halve the copies",
                (0..30).map(|i| entry(f64::from(i), "a", 5.0)).collect(),
                2,
                1,
                1,
            ),
            (
                // The same work spread over three minutes needs one copy.
                "spread out",
                (0..30)
                    .map(|i| entry(f64::from(i) * 6.0, "a", 5.0))
                    .collect(),
                1,
                1,
                0,
            ),
        ];
        for (name, entries, slots, distinct, extra) in cases {
            let bound = loads_lower_bound(&entries, slots);
            assert_eq!(
                (bound.distinct, bound.extra_copies),
                (distinct, extra),
                "{name}"
            );
            assert_eq!(bound.total(), distinct + extra, "{name}");
        }
    }
}
