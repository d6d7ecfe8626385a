//! A sliding window of task latencies per label: the samples of the last `span`, at
//! most `cap` of them in all, and their percentiles. Plain data; the caller supplies
//! the time.

use std::collections::{BTreeMap, VecDeque};

/// p50, p95 and p99 of one label's samples in the window, in seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

pub struct LatencyWindow {
    span_s: f64,
    cap: usize,
    /// (time in seconds, label, latency in seconds), oldest first.
    samples: VecDeque<(f64, String, f64)>,
}

/// The nearest-rank percentile `q` (0..=1) of sorted, non-empty `values`.
fn rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let index = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    sorted[index]
}

impl LatencyWindow {
    pub fn new(span_s: f64, cap: usize) -> Self {
        Self {
            span_s,
            cap,
            samples: VecDeque::new(),
        }
    }

    pub fn record(&mut self, now_s: f64, label: &str, latency_s: f64) {
        self.samples.push_back((now_s, label.to_owned(), latency_s));
        while self.samples.len() > self.cap {
            self.samples.pop_front();
        }
        self.expire(now_s);
    }

    fn expire(&mut self, now_s: f64) {
        while self
            .samples
            .front()
            .is_some_and(|(at, _, _)| now_s - at > self.span_s)
        {
            self.samples.pop_front();
        }
    }

    /// Percentiles per label over the samples still in the window at `now_s`.
    pub fn percentiles(&mut self, now_s: f64) -> BTreeMap<String, Percentiles> {
        self.expire(now_s);
        let mut by_label: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (_, label, latency) in &self.samples {
            by_label.entry(label).or_default().push(*latency);
        }
        by_label
            .into_iter()
            .map(|(label, mut values)| {
                values.sort_by(f64::total_cmp);
                let p = Percentiles {
                    count: values.len(),
                    p50: rank(&values, 0.50),
                    p95: rank(&values, 0.95),
                    p99: rank(&values, 0.99),
                };
                (label.to_owned(), p)
            })
            .collect()
    }
}

impl Default for LatencyWindow {
    /// The last minute, at most 100,000 samples.
    fn default() -> Self {
        Self::new(60.0, 100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_per_label_by_nearest_rank() {
        let mut window = LatencyWindow::new(60.0, 1000);
        for i in 1..=100 {
            window.record(1.0, "a", f64::from(i));
        }
        window.record(1.0, "b", 7.0);
        let p = window.percentiles(2.0);
        assert_eq!(
            p["a"],
            Percentiles {
                count: 100,
                p50: 50.0,
                p95: 95.0,
                p99: 99.0
            }
        );
        assert_eq!((p["b"].count, p["b"].p50, p["b"].p99), (1, 7.0, 7.0));
    }

    #[test]
    fn old_samples_leave_the_window() {
        let mut window = LatencyWindow::new(60.0, 1000);
        window.record(0.0, "a", 9.0);
        window.record(50.0, "a", 1.0);
        assert_eq!(window.percentiles(59.0)["a"].count, 2);
        let p = window.percentiles(61.0);
        assert_eq!((p["a"].count, p["a"].p99), (1, 1.0));
        assert!(window.percentiles(200.0).is_empty());
    }

    #[test]
    fn the_sample_count_is_bounded() {
        let mut window = LatencyWindow::new(60.0, 3);
        for i in 0..10 {
            window.record(1.0, "a", f64::from(i));
        }
        let p = window.percentiles(1.0);
        assert_eq!((p["a"].count, p["a"].p50), (3, 8.0));
    }
}
