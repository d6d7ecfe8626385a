//! The flags of `smart-routing bench` and the configuration it reports.

use serde_json::{Map, Value};

use crate::workload;

/// Flags of `smart-routing bench`. Durations are in original (unscaled) seconds.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The dispatcher's base URL (http:// or https://).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// PEM CA certificate(s) to trust for https:// besides the webpki roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// The client token (selects the tenant) sent as `Authorization: Bearer`.
    #[arg(long, env = "SMART_ROUTING_CLIENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Requests the producers send in total.
    #[arg(long, default_value_t = 2400)]
    pub requests: usize,
    /// Concurrent closed-loop producers (each waits for its result before the next).
    #[arg(long, default_value_t = 2)]
    pub producers: usize,
    /// Mean think time between a result and the next request (seconds, unscaled; at
    /// most 3600).
    #[arg(long, default_value_t = 0.75)]
    pub wait_avg: f64,
    /// Standard deviation of the think time (at most 3600); it never drops below 0.05 s.
    #[arg(long, default_value_t = 1.0)]
    pub wait_stddev: f64,
    /// Labels `label-1..label-L`, drawn uniformly.
    #[arg(long, default_value_t = 4)]
    pub labels: usize,
    /// The workers' time scale: think times are multiplied by it and every reported time
    /// divided by it, so results are in original seconds (at most 1000).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seed of the producers' draws (labels, task types, think times).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Task types sent, uniformly [default: sample_task_1,sample_task_2].
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub task_types: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The report's column name (e.g. the server's policy); the server is not asked.
    #[arg(long, default_value = "live")]
    pub policy_name: String,
    /// Give up on one request after this many (wall-clock) seconds, at most 86400; it
    /// counts as failed.
    #[arg(long, default_value_t = 600.0)]
    pub request_timeout: f64,
    /// Open loop: send Poisson arrivals at this many requests per second for `--duration`
    /// seconds, latency measured from each intended send time (`--requests`,
    /// `--producers` and the think times are then unused).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long `--rate` sends, in wall-clock seconds (at most 86400).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// With `--rate`: requests outstanding at once; a send waits for a free one, and
    /// that wait counts in its latency.
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// Streaming tasks instead: `--requests` tasks of the simulated `sample_stream` with
    /// this many chunks each, `--producers` streams at once, read as Server-Sent Events.
    #[arg(long, value_name = "CHUNKS")]
    pub stream: Option<u64>,
    /// With `--stream`: milliseconds the worker waits before each chunk.
    #[arg(long, default_value_t = 10)]
    pub chunk_interval_ms: u64,
}

impl Default for BenchArgs {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8080".to_owned(),
            ca_cert: None,
            token: None,
            requests: 2400,
            producers: 2,
            wait_avg: 0.75,
            wait_stddev: 1.0,
            labels: 4,
            time_scale: 1.0,
            seed: 1,
            task_types: Vec::new(),
            json: false,
            policy_name: "live".to_owned(),
            request_timeout: 600.0,
            rate: None,
            duration: 10.0,
            max_in_flight: 1024,
            stream: None,
            chunk_interval_ms: 10,
        }
    }
}

/// The longest `--request-timeout` and `--duration` (one day, like the server's longest
/// deadline).
const MAX_REQUEST_TIMEOUT_S: f64 = 86_400.0;
/// The most requests one `--rate` run sends (`--rate` × `--duration`): each keeps its
/// latency in memory until the report.
const MAX_OPEN_LOOP_REQUESTS: f64 = 10_000_000.0;

impl BenchArgs {
    /// Checks the flags; returns the task types to send.
    pub(super) fn validate(&self) -> Result<Vec<String>, String> {
        if self.producers == 0 || self.labels == 0 {
            return Err("--producers and --labels must be at least 1".to_owned());
        }
        // Every one of these becomes a real sleep or timeout: it must fit a `Duration`.
        if !(self.time_scale > 0.0 && self.time_scale <= workload::MAX_TIME_SCALE) {
            return Err("--time-scale must be a positive number up to 1000".to_owned());
        }
        workload::check_think_times(self.wait_avg, self.wait_stddev)?;
        if !(self.request_timeout > 0.0 && self.request_timeout <= MAX_REQUEST_TIMEOUT_S) {
            return Err(
                "--request-timeout must be a positive number of seconds up to 86400".to_owned(),
            );
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err("--rate must be a positive number of requests/s".to_owned());
            }
            if !(self.duration > 0.0 && self.duration <= MAX_REQUEST_TIMEOUT_S) {
                return Err(
                    "--duration must be a positive number of seconds up to 86400".to_owned(),
                );
            }
            if rate * self.duration > MAX_OPEN_LOOP_REQUESTS {
                return Err("--rate × --duration must be at most 10000000 requests".to_owned());
            }
            if self.max_in_flight == 0 {
                return Err("--max-in-flight must be at least 1".to_owned());
            }
        }
        let types = workload::task_types_or_default(&self.task_types);
        if types.iter().any(String::is_empty) {
            return Err("--task-types must not contain an empty name".to_owned());
        }
        Ok(types)
    }

    pub(super) fn config_json(&self, task_types: &[String]) -> Map<String, Value> {
        let mut c = Map::new();
        c.insert("url".into(), self.url.clone().into());
        c.insert("requests".into(), self.requests.into());
        c.insert("producers".into(), self.producers.into());
        c.insert("wait_avg".into(), self.wait_avg.into());
        c.insert("wait_stddev".into(), self.wait_stddev.into());
        c.insert("labels".into(), self.labels.into());
        c.insert("task_types".into(), task_types.to_vec().into());
        c.insert("time_scale".into(), self.time_scale.into());
        c.insert("seed".into(), self.seed.into());
        c
    }
}
