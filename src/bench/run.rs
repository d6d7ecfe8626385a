//! Running the live benchmark: closed-loop producers on the caller's tokio runtime, a
//! progress bar on a terminal, and the report.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::args::BenchArgs;
use super::client::{classify, RunTaskRequest, TaskReply};
use crate::report::{PolicyResult, Report, Samples};
use crate::workload::ProducerModel;

/// Why `bench` could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    #[error("invalid --url '{url}': {message}")]
    InvalidUrl { url: String, message: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("--ca-cert: {0}")]
    CaCert(#[from] crate::tls::TlsError),
    /// Its causes follow in the error chain (the request error, then why it failed).
    #[error("cannot reach the dispatcher at {url}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("the dispatcher at {url} answered GET /health with HTTP {status}")]
    Unhealthy { url: String, status: u16 },
}

impl BenchError {
    /// Whether the user can fix it by changing a flag, rather than a failure while
    /// running.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BenchError::InvalidArgs(_) | BenchError::InvalidUrl { .. } | BenchError::CaCert(_)
        )
    }
}

/// Measurements shared by the producers (never locked across an await).
#[derive(Default)]
struct Tally {
    samples: Samples,
    first_sent: Option<Instant>,
    last_done: Option<Instant>,
    /// Failed requests by reason, for the text report.
    errors: BTreeMap<String, u64>,
}

struct Shared<'a> {
    args: &'a BenchArgs,
    model: ProducerModel,
    client: reqwest::Client,
    endpoint: String,
    /// A prefix that makes this run's task ids unique.
    run_id: String,
    next: AtomicUsize,
    tally: Mutex<Tally>,
    progress: ProgressBar,
}

impl Shared<'_> {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A producer that panicked mid-update leaves counts that are still usable.
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs the benchmark against `--url` and returns the text to print: a table, or JSON
/// with `--json`. With `--rate`, the open-loop benchmark (`super::open_loop`).
pub async fn run(args: &BenchArgs) -> Result<String, BenchError> {
    if let Some(chunks) = args.stream {
        let report = super::stream::run(args, chunks, args.chunk_interval_ms).await?;
        if args.json {
            return Ok(serde_json::to_string_pretty(&report).unwrap_or_default()
                + "
");
        }
        return Ok(report.to_table());
    }
    if let Some(rate) = args.rate {
        let report = super::open_loop::run(args, rate).await?;
        if args.json {
            return Ok(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n");
        }
        return Ok(report.to_table());
    }
    let (report, errors) = report(args).await?;
    if args.json {
        return Ok(report.to_json_string() + "\n");
    }
    let mut text = report.to_table();
    if !errors.is_empty() {
        text.push_str("Failed requests by reason:\n");
        for (reason, n) in errors {
            text.push_str(&format!("  {n:>6}  {reason}\n"));
        }
    }
    Ok(text)
}

/// Runs the benchmark; the report and the failed requests counted by reason.
pub async fn report(args: &BenchArgs) -> Result<(Report, BTreeMap<String, u64>), BenchError> {
    let task_types = args.validate().map_err(BenchError::InvalidArgs)?;
    let (client, base) = connect(args, args.producers).await?;
    let progress = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(args.requests as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40.cyan/blue} {pos}/{len} requests  {elapsed_precise}  eta {eta}  {msg}",
    ) {
        progress.set_style(style);
    }
    let shared = Shared {
        args,
        model: ProducerModel {
            labels: args.labels,
            task_types: task_types.clone(),
            wait_avg: args.wait_avg,
            wait_stddev: args.wait_stddev,
        },
        client,
        endpoint: format!("{base}/run-task"),
        run_id: run_id(),
        next: AtomicUsize::new(0),
        tally: Mutex::new(Tally::default()),
        progress,
    };
    futures_util::future::join_all((0..args.producers).map(|p| producer(&shared, p))).await;
    shared.progress.finish_and_clear();
    let tally = std::mem::take(&mut *shared.tally());
    let mut samples = tally.samples;
    if let (Some(first), Some(last)) = (tally.first_sent, tally.last_done) {
        samples.makespan_s = last.duration_since(first).as_secs_f64();
    }
    let result = PolicyResult::from_samples(&samples, args.time_scale, true);
    let report = Report {
        config: args.config_json(&task_types),
        results: vec![(args.policy_name.clone(), result)],
    };
    Ok((report, tally.errors))
}

/// Checks `--url`, builds a client keeping up to `connections` idle connections and asks
/// `GET /health`; the client and the base URL.
pub(super) async fn connect(
    args: &BenchArgs,
    connections: usize,
) -> Result<(reqwest::Client, String), BenchError> {
    let base = args.url.trim_end_matches('/').to_owned();
    let parsed = reqwest::Url::parse(&base).map_err(|e| BenchError::InvalidUrl {
        url: args.url.clone(),
        message: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(BenchError::InvalidUrl {
            url: args.url.clone(),
            message: "only http:// and https:// are supported".to_owned(),
        });
    }
    let tls = crate::tls::client_config(args.ca_cert.as_deref())?;
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &args.token {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| BenchError::InvalidArgs("--token must be visible ASCII".to_owned()))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .default_headers(headers)
        .timeout(Duration::from_secs_f64(args.request_timeout))
        .pool_max_idle_per_host(connections)
        .build()
        .map_err(BenchError::Client)?;
    let health = client
        .get(format!("{base}/health"))
        .send()
        .await
        .map_err(|source| BenchError::Unreachable {
            url: base.clone(),
            source,
        })?;
    if !health.status().is_success() {
        return Err(BenchError::Unhealthy {
            url: base,
            status: health.status().as_u16(),
        });
    }
    Ok((client, base))
}

/// A prefix that makes this run's task ids unique.
pub(super) fn run_id() -> String {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("bench-{nonce:x}")
}

/// One closed-loop producer: send, wait for the answer, think, repeat until the run's
/// requests are all sent.
async fn producer(shared: &Shared<'_>, index: usize) {
    let args = shared.args;
    let mut rng = SmallRng::seed_from_u64(
        args.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(index as u64),
    );
    loop {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        if n >= args.requests {
            break;
        }
        let request = shared.model.next_request(&mut rng);
        let body = RunTaskRequest {
            task_id: format!("{}-{n}", shared.run_id),
            task_type: request.task_type,
            label: request.label,
            parameters_json: "{}".to_owned(),
        };
        let started = Instant::now();
        shared.tally().first_sent.get_or_insert(started);
        let reply = send(&shared.client, &shared.endpoint, &body).await;
        let done = Instant::now();
        record(
            shared,
            &reply,
            done.duration_since(started).as_secs_f64(),
            done,
        );
        shared.progress.inc(1);
        let think = shared.model.think_s(&mut rng) * args.time_scale;
        tokio::time::sleep(Duration::from_secs_f64(think)).await;
    }
}

/// Sends one task to `endpoint` (`POST /run-task`) and classifies the answer.
pub(super) async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    body: &RunTaskRequest,
) -> TaskReply {
    let response = match client.post(endpoint).json(body).send().await {
        Ok(r) => r,
        Err(e) => {
            return TaskReply::Unreachable {
                error: e.to_string(),
            }
        }
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) => classify(status, &bytes),
        Err(e) => TaskReply::Unreachable {
            error: e.to_string(),
        },
    }
}

fn record(shared: &Shared<'_>, reply: &TaskReply, latency_s: f64, done: Instant) {
    let mut tally = shared.tally();
    tally.samples.requests += 1;
    tally.last_done = Some(done);
    if reply.label_miss() {
        tally.samples.label_misses += 1;
    }
    match reply {
        TaskReply::Completed { load_s, run_s, .. } => {
            tally.samples.latencies_s.push(latency_s);
            tally.samples.task_runtimes_s.push(load_s + run_s);
        }
        other => {
            tally.samples.failed += 1;
            let reason = other.error().unwrap_or("unknown").to_owned();
            if tally.errors.len() < 20 || tally.errors.contains_key(&reason) {
                *tally.errors.entry(reason).or_default() += 1;
            }
            let failed = tally.samples.failed;
            drop(tally);
            shared.progress.set_message(format!("{failed} failed"));
        }
    }
}
