//! Server configuration: defaults, then `config/default.toml` (or `--config FILE`), then
//! `SMART_ROUTING_*` environment variables, then command-line flags. Depends on nothing
//! but serde and the routing core's knobs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::routing::{Bounds, Policy, Priors, RoutingConfig};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The underlying errors are part of each message, not chained as a `source` as well:
    // a chain printer would repeat them (and the TOML one over several lines).
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid config file {path}: {}", one_line(error))]
    Parse {
        path: PathBuf,
        error: Box<toml::de::Error>,
    },
    #[error("invalid value for {name}: {reason}")]
    Invalid { name: String, reason: String },
}

/// A TOML error on one line: where, then what (its own text quotes the file over several).
fn one_line(error: &toml::de::Error) -> String {
    let place = error.to_string();
    let place = place
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches(':');
    format!("{place}: {}", error.message().trim())
}

/// Every setting of `smart-routing serve`; `config/default.toml` documents each one.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bind: SocketAddr,
    /// Address of the Open Inference Protocol's gRPC service; off when unset.
    pub grpc_bind: Option<SocketAddr>,
    pub policy: String,
    pub log_dir: PathBuf,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest model accepted as a raw `POST /upload-model` body, in bytes.
    pub max_upload_bytes: usize,
    /// Longest accepted `task_id`, `label` or `task_type`, in bytes.
    pub max_name_len: usize,
    /// How long finished tasks stay readable at `GET /tasks/{id}`, in seconds.
    pub task_retention_s: u64,
    /// At most this many finished tasks are kept (the oldest go first).
    pub max_finished_tasks: usize,
    /// Tasks waiting for a worker beyond this are refused with 503.
    pub max_queue: usize,
    /// Times a task is tried when its worker goes away.
    pub max_attempts: u32,
    /// A worker silent for this long is dropped, in seconds.
    pub heartbeat_timeout_s: u64,
    /// Token remote workers must present (`Authorization: Bearer ...`); empty = none.
    pub worker_token: String,
    /// Token clients must present on task and model endpoints; empty = none.
    pub client_token: String,
    /// Where the durable task store lives.
    pub data_dir: PathBuf,
    /// os (a commit survives a crash of the process), fsync (also power loss) or off.
    pub durability: String,
    /// On SIGTERM/SIGINT, running tasks get this long to finish, in seconds.
    pub shutdown_grace_s: u64,
    /// Largest accepted `deadline_ms` (422 above it).
    pub max_deadline_ms: u64,
    /// A running task with no result after this long is stopped and retried (seconds).
    pub max_run_s: f64,
    /// `max_run_s` for particular task types (file only).
    pub max_run_s_by_type: BTreeMap<String, f64>,
    /// Tasks whose only capable workers left wait this long for one to return (seconds).
    pub worker_grace_s: f64,
    /// Refuse at once a task whose deadline the current estimate says cannot be met.
    pub admission_control: bool,
    /// A label no worker holds and no task used for this long is forgotten (seconds).
    pub label_idle_s: u64,
    /// Bytes of finished tasks kept for `GET /tasks/{id}` at most (oldest dropped first).
    pub max_retained_bytes: usize,
    /// A worker connection that has not registered after this long is closed (seconds).
    pub register_timeout_s: u64,
    /// Deepest nesting of arrays and objects accepted in `parameters_json` (422 above).
    pub max_json_depth: usize,
    /// A request body not received in full this long after its head is answered 408
    /// (raw model uploads: this long without a byte), in seconds.
    pub body_timeout_s: u64,
    /// Whether task events and worker logs are written to `<log_dir>/events.jsonl`.
    pub event_log: bool,
    /// The event log is rotated when it would grow past this many bytes.
    pub log_max_bytes: u64,
    /// Rotated event logs kept (`events.jsonl.1` newest ... `.N`); 0 keeps none.
    pub log_keep: usize,
    /// Largest event-log record in bytes; longer worker log messages and fields are cut.
    pub log_record_max_bytes: usize,
    /// Log records a remote worker may send per second (a burst of as many); the rest
    /// are dropped and counted.
    pub log_rate_per_worker: u32,
    /// `/metrics` keeps a series of its own for at most this many labels; the rest are
    /// summed under `label="_other"`.
    pub metrics_max_labels: usize,
    /// ...and for at most this many worker ids (the rest under `worker_id="_other"`).
    pub metrics_max_workers: usize,
    /// OTLP/HTTP endpoint that task spans are exported to (e.g.
    /// `http://127.0.0.1:4318/v1/traces`); empty = no export.
    pub otlp_endpoint: String,
    pub routing: RoutingSection,
    pub local: LocalSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingSection {
    pub prior_load_s: f64,
    pub prior_run_s: f64,
    pub demand_tau_s: f64,
    pub churn_factor: f64,
    pub starvation_factor: f64,
    pub reload_weight: f64,
    pub patience_loads: f64,
    pub reload_horizon_loads: f64,
    pub preload_margin: f64,
    pub preload_idle_loads: f64,
}

/// In-process ONNX workers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalSection {
    /// The model repository: one folder per label.
    pub models: Option<PathBuf>,
    pub workers: u32,
    pub max_labels: u32,
    pub slots: u32,
    /// ONNX Runtime's shared library; empty = `ORT_DYLIB_PATH`, then the setup script's.
    pub ort_lib: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_bind: None,
            policy: Policy::Affinity.name().to_owned(),
            log_dir: PathBuf::from("logs"),
            max_body_bytes: 16 * 1024 * 1024,
            max_upload_bytes: 512 * 1024 * 1024,
            max_name_len: 256,
            task_retention_s: 30 * 60,
            max_finished_tasks: 100_000,
            max_queue: 10_000,
            max_attempts: 3,
            heartbeat_timeout_s: 15,
            worker_token: String::new(),
            client_token: String::new(),
            data_dir: PathBuf::from("data"),
            durability: "os".to_owned(),
            shutdown_grace_s: 30,
            max_deadline_ms: 24 * 60 * 60 * 1000,
            max_run_s: 3600.0,
            max_run_s_by_type: BTreeMap::new(),
            worker_grace_s: 10.0,
            admission_control: true,
            label_idle_s: 600,
            max_retained_bytes: 256 * 1024 * 1024,
            register_timeout_s: 10,
            max_json_depth: 64,
            body_timeout_s: 30,
            event_log: true,
            log_max_bytes: 64 * 1024 * 1024,
            log_keep: 5,
            log_record_max_bytes: 16 * 1024,
            log_rate_per_worker: 100,
            metrics_max_labels: 100,
            metrics_max_workers: 100,
            otlp_endpoint: String::new(),
            routing: RoutingSection::default(),
            local: LocalSection::default(),
        }
    }
}

impl Default for RoutingSection {
    fn default() -> Self {
        let routing = RoutingConfig::default();
        Self {
            prior_load_s: routing.priors.load_s,
            prior_run_s: routing.priors.run_s,
            demand_tau_s: routing.demand_tau_s,
            churn_factor: routing.churn_factor,
            starvation_factor: routing.starvation_factor,
            reload_weight: routing.reload_weight,
            patience_loads: routing.patience_loads,
            reload_horizon_loads: routing.reload_horizon_loads,
            preload_margin: routing.preload_margin,
            preload_idle_loads: routing.preload_idle_loads,
        }
    }
}

impl RoutingSection {
    /// Every `[routing]` setting, by the name the file uses, with its field: the one list
    /// that setting by name, checking and [`Self::keys`] go by.
    fn knobs_mut(&mut self) -> [(&'static str, &mut f64); 10] {
        [
            ("prior_load_s", &mut self.prior_load_s),
            ("prior_run_s", &mut self.prior_run_s),
            ("demand_tau_s", &mut self.demand_tau_s),
            ("churn_factor", &mut self.churn_factor),
            ("starvation_factor", &mut self.starvation_factor),
            ("reload_weight", &mut self.reload_weight),
            ("patience_loads", &mut self.patience_loads),
            ("reload_horizon_loads", &mut self.reload_horizon_loads),
            ("preload_margin", &mut self.preload_margin),
            ("preload_idle_loads", &mut self.preload_idle_loads),
        ]
    }

    /// The `[routing]` settings, by the names the file uses.
    pub fn keys() -> [&'static str; 10] {
        Self::default().knobs_mut().map(|(key, _)| key)
    }

    /// Sets one `[routing]` setting from its text form (`simulate --set KEY=VALUE`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: key.to_owned(),
            reason,
        };
        let number: f64 = value
            .trim()
            .parse()
            .map_err(|e| invalid(format!("{e} (got '{value}')")))?;
        Self::check(key, number).map_err(|reason| invalid(format!("{reason} (got '{value}')")))?;
        let Some((_, field)) = self.knobs_mut().into_iter().find(|(k, _)| *k == key) else {
            let known = Self::keys().join(", ");
            return Err(invalid(format!(
                "no such [routing] setting (known: {known})"
            )));
        };
        *field = number;
        Ok(())
    }

    /// Checks every setting, whichever way it was given (file, environment, `--set`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        // A copy, as the one list of knobs hands out their fields mutably.
        let mut copy = self.clone();
        for (key, value) in copy.knobs_mut() {
            Self::check(key, *value).map_err(|reason| ConfigError::Invalid {
                name: key.to_owned(),
                reason: format!("{reason} (got {value})"),
            })?;
        }
        Ok(())
    }

    /// What is wrong with `value` for the setting `key`, if anything. Every setting is a
    /// number of 0 or more (`inf` included); the priors must be finite, since nothing is
    /// ever loaded while a load is expected to take for ever, and the demand's time
    /// constant must be above 0.
    fn check(key: &str, value: f64) -> Result<(), &'static str> {
        if value.is_nan() || value < 0.0 {
            return Err("must be a non-negative number");
        }
        match key {
            "prior_load_s" | "prior_run_s" if value.is_infinite() => {
                Err("must be a finite number of seconds")
            }
            "demand_tau_s" if value == 0.0 => Err("must be above 0 seconds"),
            _ => Ok(()),
        }
    }

    /// `base` with this section's knobs applied (queue bounds and probe stay).
    pub fn apply(&self, base: RoutingConfig) -> RoutingConfig {
        RoutingConfig {
            priors: Priors {
                load_s: self.prior_load_s,
                run_s: self.prior_run_s,
            },
            demand_tau_s: self.demand_tau_s,
            churn_factor: self.churn_factor,
            starvation_factor: self.starvation_factor,
            reload_weight: self.reload_weight,
            patience_loads: self.patience_loads,
            reload_horizon_loads: self.reload_horizon_loads,
            preload_margin: self.preload_margin,
            preload_idle_loads: self.preload_idle_loads,
            ..base
        }
    }
}

impl Default for LocalSection {
    fn default() -> Self {
        Self {
            models: None,
            workers: 0,
            max_labels: 2,
            slots: 32,
            ort_lib: None,
        }
    }
}

impl Config {
    /// Reads `path` (or returns the defaults when `path` is `None`), then applies the
    /// `SMART_ROUTING_*` variables from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                    path: path.to_owned(),
                    error,
                })?;
                toml::from_str(&text).map_err(|error| ConfigError::Parse {
                    path: path.to_owned(),
                    error: Box::new(error),
                })?
            }
        };
        for (name, value) in env {
            if let Some(key) = name.strip_prefix("SMART_ROUTING_") {
                config.set(&key.to_ascii_lowercase(), &value)?;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one top-level or `local_*` setting from its text form (env and flags).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: key.to_owned(),
                reason: e.to_string(),
            })
        }
        match key {
            "bind" => self.bind = parse(key, value)?,
            "grpc_bind" => self.grpc_bind = Some(parse(key, value)?),
            "policy" => self.policy = value.to_owned(),
            "log_dir" => self.log_dir = PathBuf::from(value),
            "max_body_bytes" => self.max_body_bytes = parse(key, value)?,
            "max_upload_bytes" => self.max_upload_bytes = parse(key, value)?,
            "max_name_len" => self.max_name_len = parse(key, value)?,
            "task_retention_s" => self.task_retention_s = parse(key, value)?,
            "max_finished_tasks" => self.max_finished_tasks = parse(key, value)?,
            "max_queue" => self.max_queue = parse(key, value)?,
            "max_attempts" => self.max_attempts = parse(key, value)?,
            "heartbeat_timeout_s" => self.heartbeat_timeout_s = parse(key, value)?,
            "worker_token" => self.worker_token = value.to_owned(),
            "client_token" => self.client_token = value.to_owned(),
            "data_dir" => self.data_dir = PathBuf::from(value),
            "durability" => self.durability = value.to_owned(),
            "shutdown_grace_s" => self.shutdown_grace_s = parse(key, value)?,
            "max_deadline_ms" => self.max_deadline_ms = parse(key, value)?,
            "max_run_s" => self.max_run_s = parse(key, value)?,
            "worker_grace_s" => self.worker_grace_s = parse(key, value)?,
            "admission_control" => self.admission_control = parse(key, value)?,
            "label_idle_s" => self.label_idle_s = parse(key, value)?,
            "max_retained_bytes" => self.max_retained_bytes = parse(key, value)?,
            "register_timeout_s" => self.register_timeout_s = parse(key, value)?,
            "max_json_depth" => self.max_json_depth = parse(key, value)?,
            "body_timeout_s" => self.body_timeout_s = parse(key, value)?,
            "event_log" => self.event_log = parse(key, value)?,
            "log_max_bytes" => self.log_max_bytes = parse(key, value)?,
            "log_keep" => self.log_keep = parse(key, value)?,
            "log_record_max_bytes" => self.log_record_max_bytes = parse(key, value)?,
            "log_rate_per_worker" => self.log_rate_per_worker = parse(key, value)?,
            "metrics_max_labels" => self.metrics_max_labels = parse(key, value)?,
            "metrics_max_workers" => self.metrics_max_workers = parse(key, value)?,
            "otlp_endpoint" => self.otlp_endpoint = value.to_owned(),
            "models" | "local_models" => self.local.models = Some(PathBuf::from(value)),
            "local_workers" => self.local.workers = parse(key, value)?,
            "local_max_labels" => self.local.max_labels = parse(key, value)?,
            "local_slots" => self.local.slots = parse(key, value)?,
            "ort_lib" | "local_ort_lib" => self.local.ort_lib = Some(PathBuf::from(value)),
            "log" | "log_format" => {} // read by the binary's logging setup
            _ if RoutingSection::keys().contains(&key) => self.routing.set(key, value)?,
            _ => {
                return Err(ConfigError::Invalid {
                    name: format!("SMART_ROUTING_{}", key.to_ascii_uppercase()),
                    reason: "no such setting".to_owned(),
                })
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.routing.validate()?;
        let invalid = |name: &str, reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        self.policy
            .parse::<Policy>()
            .map_err(|reason| invalid("policy", &reason))?;
        if self.durability != "off" {
            self.durability
                .parse::<crate::store::Durability>()
                .map_err(|reason| invalid("durability", &reason))?;
        }
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if self.max_queue == 0 {
            return Err(invalid("max_queue", "must be at least 1"));
        }
        if self.heartbeat_timeout_s == 0 {
            return Err(invalid("heartbeat_timeout_s", "must be at least 1"));
        }
        let positive = |name: &str, value: f64| {
            if value.is_nan() || value <= 0.0 {
                return Err(invalid(name, "must be a positive number of seconds"));
            }
            Ok(())
        };
        positive("max_run_s", self.max_run_s)?;
        for (task_type, limit) in &self.max_run_s_by_type {
            positive(&format!("max_run_s_by_type.{task_type}"), *limit)?;
        }
        if !(self.worker_grace_s >= 0.0 && self.worker_grace_s.is_finite()) {
            return Err(invalid("worker_grace_s", "must be 0 or more seconds"));
        }
        if self.max_deadline_ms == 0 {
            return Err(invalid("max_deadline_ms", "must be at least 1"));
        }
        if self.label_idle_s == 0 {
            return Err(invalid("label_idle_s", "must be at least 1"));
        }
        if self.register_timeout_s == 0 {
            return Err(invalid("register_timeout_s", "must be at least 1"));
        }
        if self.max_json_depth == 0 {
            return Err(invalid("max_json_depth", "must be at least 1"));
        }
        if self.body_timeout_s == 0 {
            return Err(invalid("body_timeout_s", "must be at least 1"));
        }
        if self.log_max_bytes < 4096 {
            return Err(invalid("log_max_bytes", "must be at least 4096"));
        }
        if self.log_record_max_bytes < 1024 {
            return Err(invalid("log_record_max_bytes", "must be at least 1024"));
        }
        if self.local.workers > 0 && (self.local.max_labels == 0 || self.local.slots == 0) {
            return Err(invalid("local", "max_labels and slots must be at least 1"));
        }
        if self.local.workers > 0 && self.local.models.is_none() {
            return Err(invalid(
                "local_workers",
                "local workers need a model repository (--models DIR)",
            ));
        }
        Ok(())
    }

    pub fn policy(&self) -> Policy {
        // Checked by `validate`; affinity is the safe default for a hand-built Config.
        self.policy.parse().unwrap_or(Policy::Affinity)
    }

    /// The store's durability; `None` when the store is off.
    pub fn store_durability(&self) -> Option<crate::store::Durability> {
        // Checked by `validate`; a hand-built Config with a bad value keeps the safe one.
        (self.durability != "off").then(|| {
            self.durability
                .parse()
                .unwrap_or(crate::store::Durability::Fsync)
        })
    }

    pub fn routing(&self) -> RoutingConfig {
        self.routing.apply(RoutingConfig {
            max_queue: self.max_queue,
            max_attempts: self.max_attempts,
            bounds: Bounds {
                max_run_s: self.max_run_s,
                max_run_s_by_type: self
                    .max_run_s_by_type
                    .iter()
                    .map(|(t, s)| (t.clone(), *s))
                    .collect(),
                worker_grace_s: self.worker_grace_s,
                label_idle_s: self.label_idle_s as f64,
            },
            ..RoutingConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config file of its own (tests run in parallel).
    fn write(text: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("sr-config-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn file_then_env_then_flags() {
        let path = write(
            "bind = \"127.0.0.1:9000\"\nmax_queue = 7\npolicy = \"random\"\n[local]\nworkers = 0\n",
        );
        let env = vec![
            ("SMART_ROUTING_MAX_QUEUE".to_owned(), "9".to_owned()),
            ("SMART_ROUTING_PATIENCE_LOADS".to_owned(), "inf".to_owned()),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ];
        let mut config = Config::load(Some(&path), env).unwrap();
        assert_eq!(config.bind.port(), 9000); // file over default
        assert_eq!(config.max_queue, 9); // env over file
        assert_eq!(config.policy, "random");
        config.set("policy", "original").unwrap(); // flag over file
        assert_eq!(config.policy(), Policy::Original);
        assert_eq!(config.max_attempts, 3); // default kept
        assert_eq!(config.routing().patience_loads, f64::INFINITY); // a [routing] knob by env
    }

    #[test]
    fn bad_settings_are_named_in_the_error() {
        let unknown = write("no_such_setting = 1\n");
        let error = Config::load(Some(&unknown), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("no_such_setting"), "{error}");
        let env = vec![("SMART_ROUTING_MAX_QUEUE".to_owned(), "lots".to_owned())];
        let error = Config::load(None, env).unwrap_err().to_string();
        assert!(error.contains("max_queue"), "{error}");
        let env = vec![("SMART_ROUTING_POLICY".to_owned(), "fastest".to_owned())];
        assert!(Config::load(None, env)
            .unwrap_err()
            .to_string()
            .contains("unknown policy"));
        let env = vec![("SMART_ROUTING_LOCAL_WORKERS".to_owned(), "2".to_owned())];
        assert!(Config::load(None, env)
            .unwrap_err()
            .to_string()
            .contains("--models"));
        let missing = Path::new("/nonexistent/config.toml");
        assert!(Config::load(Some(missing), Vec::new())
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
    }

    #[test]
    fn routing_knobs_are_checked_from_the_file_and_the_environment() {
        // An infinite prior would mean nothing is ever loaded; a negative or NaN knob has
        // no meaning. Each is refused with the knob's name, not silently used.
        for (text, name) in [
            ("[routing]\npatience_loads = -1\n", "patience_loads"),
            ("[routing]\nreload_weight = nan\n", "reload_weight"),
            ("[routing]\nprior_load_s = inf\n", "prior_load_s"),
            ("[routing]\ndemand_tau_s = 0\n", "demand_tau_s"),
        ] {
            let error = Config::load(Some(&write(text)), Vec::new())
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{text}: {error}");
        }
        let env = vec![("SMART_ROUTING_PRIOR_RUN_S".to_owned(), "inf".to_owned())];
        let error = Config::load(None, env).unwrap_err().to_string();
        assert!(error.contains("prior_run_s"), "{error}");
        // An infinite knob other than a prior stays a meaningful value.
        let ok = write("[routing]\npatience_loads = inf\nchurn_factor = 0\n");
        assert!(Config::load(Some(&ok), Vec::new()).is_ok());
    }

    #[test]
    fn the_shipped_config_file_is_the_defaults() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let config = Config::load(Some(&shipped), Vec::new()).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{config:?}"), format!("{defaults:?}"));
    }
}
