//! `smart-routing bench --stream N`: concurrent streaming tasks (the simulated worker's
//! `sample_stream`, N chunks each) through `POST /run-task` with Server-Sent Events. It
//! reports the time to the first chunk and between chunks, how long each chunk took from
//! the worker making it to this client reading it (the router's part; same clock, same
//! machine), and any chunk lost or out of order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

use super::open_loop::Quantiles;
use super::run::{connect, run_id, BenchError};
use super::BenchArgs;

/// What the streams measured.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    pub streams: usize,
    pub completed: usize,
    pub failed: usize,
    pub chunks_per_stream: u64,
    pub chunks_received: u64,
    /// Chunks a completed stream did not deliver.
    pub chunks_lost: u64,
    /// Chunks that came after a later one.
    pub chunks_out_of_order: u64,
    pub first_chunk: Quantiles,
    pub between_chunks: Quantiles,
    /// From the worker making a chunk to this client reading it.
    pub delivery: Quantiles,
    pub wall_s: f64,
}

/// One stream's measurements.
#[derive(Default)]
struct Sample {
    completed: bool,
    received: u64,
    out_of_order: u64,
    first_s: Option<f64>,
    gaps_s: Vec<f64>,
    delivery_s: Vec<f64>,
}

fn unix_us() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
}

/// Runs `--requests` streams, `--producers` at once.
pub async fn run(
    args: &BenchArgs,
    chunks: u64,
    interval_ms: u64,
) -> Result<StreamReport, BenchError> {
    if args.producers == 0 || args.requests == 0 {
        return Err(BenchError::InvalidArgs(
            "--producers and --requests must be at least 1".into(),
        ));
    }
    let (client, base) = connect(args, args.producers).await?;
    let prefix = run_id();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let producers = (0..args.producers).map(|_| async {
        let mut samples = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= args.requests {
                return samples;
            }
            let body = json!({
                "task_id": format!("{prefix}-s{i}"),
                "task_type": "sample_stream",
                "label": "stream",
                "parameters_json": json!({ "chunks": chunks, "interval_ms": interval_ms }).to_string(),
            });
            samples.push(one_stream(&client, &base, &body).await);
        }
    });
    let samples: Vec<Sample> = futures_util::future::join_all(producers)
        .await
        .into_iter()
        .flatten()
        .collect();
    let wall_s = started.elapsed().as_secs_f64();
    let completed: Vec<&Sample> = samples.iter().filter(|s| s.completed).collect();
    Ok(StreamReport {
        streams: samples.len(),
        completed: completed.len(),
        failed: samples.len() - completed.len(),
        chunks_per_stream: chunks,
        chunks_received: samples.iter().map(|s| s.received).sum(),
        chunks_lost: completed
            .iter()
            .map(|s| chunks.saturating_sub(s.received))
            .sum(),
        chunks_out_of_order: samples.iter().map(|s| s.out_of_order).sum(),
        first_chunk: Quantiles::of(samples.iter().filter_map(|s| s.first_s).collect()),
        between_chunks: Quantiles::of(samples.iter().flat_map(|s| s.gaps_s.clone()).collect()),
        delivery: Quantiles::of(samples.iter().flat_map(|s| s.delivery_s.clone()).collect()),
        wall_s,
    })
}

async fn one_stream(client: &reqwest::Client, base: &str, body: &Value) -> Sample {
    let mut sample = Sample::default();
    let sent = Instant::now();
    let request = client
        .post(format!("{base}/run-task"))
        .header("accept", "text/event-stream")
        .json(body)
        .send();
    let Ok(mut response) = request.await else {
        return sample;
    };
    if !response.status().is_success() {
        return sample;
    }
    let (mut buffer, mut last, mut next_seq) = (String::new(), None::<Instant>, 0u64);
    while let Ok(Some(bytes)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let now = Instant::now();
            let name = event.lines().find_map(|l| l.strip_prefix("event: "));
            let data = event.lines().find_map(|l| l.strip_prefix("data: "));
            let Ok(data) = serde_json::from_str::<Value>(data.unwrap_or("null")) else {
                continue;
            };
            match name {
                Some("chunk") => {
                    let made_us = data["unix_us"].as_f64().unwrap_or(0.0);
                    sample
                        .delivery_s
                        .push(((unix_us() - made_us) / 1e6).max(0.0));
                    let seq = data["seq"].as_u64().unwrap_or(u64::MAX);
                    if seq < next_seq {
                        sample.out_of_order += 1;
                    }
                    next_seq = next_seq.max(seq.saturating_add(1));
                    sample.received += 1;
                    match last {
                        None => sample.first_s = Some(now.duration_since(sent).as_secs_f64()),
                        Some(at) => sample.gaps_s.push(now.duration_since(at).as_secs_f64()),
                    }
                    last = Some(now);
                }
                Some("result") => sample.completed = data["status"] == "completed",
                _ => {}
            }
        }
    }
    sample
}

impl StreamReport {
    pub fn to_table(&self) -> String {
        let q = |q: &Quantiles| {
            format!(
                "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                q.p50_ms, q.p99_ms, q.max_ms
            )
        };
        format!(
            "streams {} (completed {}, failed {}) of {} chunks in {:.1} s\n\
             chunks received {}, lost {}, out of order {}\n\
             first chunk    {}\n\
             between chunks {}\n\
             worker to here {}\n",
            self.streams,
            self.completed,
            self.failed,
            self.chunks_per_stream,
            self.wall_s,
            self.chunks_received,
            self.chunks_lost,
            self.chunks_out_of_order,
            q(&self.first_chunk),
            q(&self.between_chunks),
            q(&self.delivery),
        )
    }
}
