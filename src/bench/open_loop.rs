//! `smart-routing bench --rate R`: open-loop load for capacity planning. Requests leave
//! at Poisson arrival times from a seeded generator, whatever the answers do, and each
//! latency is measured from the request's *intended* send time, so a stall is charged to
//! every request it delays (no coordinated omission, as wrk2 measures). The report gives
//! p50/p99/p99.9 of that latency and of the server's added latency: the latency less the
//! load and run time the worker reported.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::args::BenchArgs;
use super::client::{RunTaskRequest, TaskReply};
use super::run::{connect, run_id, send, BenchError};
use crate::report::quantile;
use crate::workload::ProducerModel;

/// Send offsets from the start of a run: exponential gaps of mean `1 / rate` (Poisson
/// arrivals), every one before `duration`.
pub struct Arrivals<R> {
    gap: Exp<f64>,
    at: f64,
    end: f64,
    rng: R,
}

impl<R: Rng> Arrivals<R> {
    /// `None` for a rate that is not a positive number.
    pub fn new(rate: f64, duration: Duration, rng: R) -> Option<Self> {
        Some(Self {
            gap: Exp::new(rate).ok().filter(|_| rate > 0.0)?,
            at: 0.0,
            end: duration.as_secs_f64(),
            rng,
        })
    }
}

impl<R: Rng> Iterator for Arrivals<R> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.at += self.gap.sample(&mut self.rng);
        (self.at < self.end).then(|| Duration::from_secs_f64(self.at))
    }
}

/// Quantiles of a latency, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quantiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Quantiles {
    /// From values in seconds, in any order.
    pub(super) fn of(mut seconds: Vec<f64>) -> Self {
        seconds.sort_by(f64::total_cmp);
        let ms = |q: f64| (quantile(&seconds, q) * 1e6).round() / 1e3;
        Self {
            p50_ms: ms(0.5),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: ms(1.0),
        }
    }
}

/// What an open-loop run measured. Times are wall-clock (`--time-scale` is not applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpenLoopReport {
    pub url: String,
    /// The intended arrival rate (requests per second).
    pub rate_per_s: f64,
    pub duration_s: f64,
    pub sent: usize,
    pub completed: usize,
    pub failed: usize,
    /// Completed tasks per second, from the start to the last answer.
    pub completed_per_s: f64,
    /// From each completed request's intended send time to its answer.
    pub latency: Quantiles,
    /// `latency` less the worker's load and run time: what the server (and the loopback,
    /// and this client) added.
    pub added: Quantiles,
    /// Failed requests by reason (at most 20 reasons).
    pub errors: BTreeMap<String, u64>,
}

impl OpenLoopReport {
    pub fn to_table(&self) -> String {
        let mut text = format!(
            "open loop: {} requests/s (Poisson) for {} s against {}; latency from each \
             intended send time\n",
            self.rate_per_s, self.duration_s, self.url
        );
        text.push_str(&format!(
            "sent {}, completed {}, failed {}; {:.1} completed/s\n",
            self.sent, self.completed, self.failed, self.completed_per_s
        ));
        text.push_str(&format!(
            "{:<8} {:>10} {:>10} {:>10} {:>10}\n",
            "ms", "p50", "p99", "p99.9", "max"
        ));
        for (name, q) in [("latency", &self.latency), ("added", &self.added)] {
            text.push_str(&format!(
                "{name:<8} {:>10.3} {:>10.3} {:>10.3} {:>10.3}\n",
                q.p50_ms, q.p99_ms, q.p999_ms, q.max_ms
            ));
        }
        for (reason, n) in &self.errors {
            text.push_str(&format!("  {n:>6}  {reason}\n"));
        }
        text
    }
}

/// What the answers came to so far; each request adds its own as it ends.
#[derive(Default)]
struct Collected {
    latencies_s: Vec<f64>,
    added_s: Vec<f64>,
    failed: usize,
    errors: BTreeMap<String, u64>,
    last_done: Option<Instant>,
}

impl Collected {
    fn add(&mut self, reply: TaskReply, latency_s: f64, done: Instant) {
        self.last_done = Some(self.last_done.map_or(done, |last| last.max(done)));
        match reply {
            TaskReply::Completed { load_s, run_s, .. } => {
                self.latencies_s.push(latency_s);
                self.added_s.push((latency_s - load_s - run_s).max(0.0));
            }
            other => {
                self.failed += 1;
                let reason = other.error().unwrap_or("unknown").to_owned();
                if self.errors.len() < 20 || self.errors.contains_key(&reason) {
                    *self.errors.entry(reason).or_default() += 1;
                }
            }
        }
    }
}

/// Runs `--rate` for `--duration` seconds against `--url`.
pub async fn run(args: &BenchArgs, rate: f64) -> Result<OpenLoopReport, BenchError> {
    let task_types = args.validate().map_err(BenchError::InvalidArgs)?;
    let (client, base) = connect(args, args.max_in_flight).await?;
    let endpoint: Arc<str> = format!("{base}/run-task").into();
    let model = ProducerModel {
        labels: args.labels,
        task_types,
        wait_avg: args.wait_avg,
        wait_stddev: args.wait_stddev,
    };
    let mut draws = SmallRng::seed_from_u64(args.seed);
    let schedule = SmallRng::seed_from_u64(args.seed.wrapping_add(1));
    let Some(schedule) = Arrivals::new(rate, Duration::from_secs_f64(args.duration), schedule)
    else {
        return Err(BenchError::InvalidArgs(format!("--rate {rate}")));
    };
    // Every permit back means every request has ended.
    let slots = u32::try_from(args.max_in_flight).unwrap_or(u32::MAX);
    let in_flight = Arc::new(Semaphore::new(slots as usize));
    let collected = Arc::new(Mutex::new(Collected::default()));
    let prefix = run_id();
    let start = Instant::now();
    let mut sent = 0;
    for offset in schedule {
        let intended = start + offset;
        tokio::time::sleep_until(intended.into()).await;
        // Waiting for a free slot delays the send, not the clock: the wait is counted.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break; // never closed
        };
        let request = model.next_request(&mut draws);
        let body = RunTaskRequest {
            task_id: format!("{prefix}-{sent}"),
            task_type: request.task_type,
            label: request.label,
            parameters_json: "{}".to_owned(),
        };
        sent += 1;
        let (client, endpoint, collected) = (client.clone(), endpoint.clone(), collected.clone());
        tokio::spawn(async move {
            let reply = send(&client, &endpoint, &body).await;
            let done = Instant::now();
            lock(&collected).add(reply, done.duration_since(intended).as_secs_f64(), done);
            drop(permit);
        });
    }
    let _all = in_flight.acquire_many(slots).await;
    let collected = std::mem::take(&mut *lock(&collected));
    let completed = collected.latencies_s.len();
    let elapsed = collected
        .last_done
        .map_or(0.0, |last| last.duration_since(start).as_secs_f64());
    Ok(OpenLoopReport {
        url: base,
        rate_per_s: rate,
        duration_s: args.duration,
        sent,
        completed,
        // A request whose task panicked never reported: counted as failed.
        failed: sent - completed,
        completed_per_s: if elapsed > 0.0 {
            (completed as f64 / elapsed * 10.0).round() / 10.0
        } else {
            0.0
        },
        latency: Quantiles::of(collected.latencies_s),
        added: Quantiles::of(collected.added_s),
        errors: collected.errors,
    })
}

fn lock(collected: &Mutex<Collected>) -> std::sync::MutexGuard<'_, Collected> {
    // A request that panicked mid-update leaves counts that are still usable.
    collected
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_come_at_the_rate_within_the_duration() {
        let arrivals = |seed| {
            Arrivals::new(
                2000.0,
                Duration::from_secs(5),
                SmallRng::seed_from_u64(seed),
            )
            .unwrap()
            .collect::<Vec<_>>()
        };
        let offsets = arrivals(7);
        // 10,000 expected; the standard deviation of a Poisson count is 100.
        assert!(
            (9_500..=10_500).contains(&offsets.len()),
            "{}",
            offsets.len()
        );
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        assert!(offsets.last().is_some_and(|l| *l < Duration::from_secs(5)));
        assert_eq!(offsets, arrivals(7), "seeded: the same schedule");
        assert!(Arrivals::new(0.0, Duration::from_secs(1), SmallRng::seed_from_u64(1)).is_none());
    }

    #[test]
    fn quantiles_are_in_milliseconds_by_nearest_rank() {
        let seconds: Vec<f64> = (1..=1000).rev().map(|i| f64::from(i) / 1000.0).collect();
        let q = Quantiles::of(seconds);
        assert_eq!(
            q,
            Quantiles {
                p50_ms: 500.0,
                p99_ms: 990.0,
                p999_ms: 999.0,
                max_ms: 1000.0
            }
        );
        assert_eq!(Quantiles::of(Vec::new()), Quantiles::default());
    }
}
