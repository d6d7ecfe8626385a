//! Server configuration: defaults, then `config/default.toml` (or `--config FILE`), then
//! `SMART_ROUTING_*` environment variables, then command-line flags. Depends on nothing
//! but serde and the routing core's knobs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::routing::{Policy, Priors, RoutingConfig};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid value for {name}: {reason}")]
    Invalid { name: String, reason: String },
}

/// Every setting of `smart-routing serve`; `config/default.toml` documents each one.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bind: SocketAddr,
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
    /// The `[routing]` settings, by the names the file uses.
    pub const KEYS: [&'static str; 10] = [
        "prior_load_s",
        "prior_run_s",
        "demand_tau_s",
        "churn_factor",
        "starvation_factor",
        "reload_weight",
        "patience_loads",
        "reload_horizon_loads",
        "preload_margin",
        "preload_idle_loads",
    ];

    /// Sets one `[routing]` setting from its text form (`simulate --set KEY=VALUE`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let number: f64 = value.trim().parse().map_err(|e| ConfigError::Invalid {
            name: key.to_owned(),
            reason: format!("{e} (got '{value}')"),
        })?;
        if number.is_nan() || number < 0.0 {
            return Err(ConfigError::Invalid {
                name: key.to_owned(),
                reason: format!("must be a non-negative number (got '{value}')"),
            });
        }
        let field = match key {
            "prior_load_s" => &mut self.prior_load_s,
            "prior_run_s" => &mut self.prior_run_s,
            "demand_tau_s" => &mut self.demand_tau_s,
            "churn_factor" => &mut self.churn_factor,
            "starvation_factor" => &mut self.starvation_factor,
            "reload_weight" => &mut self.reload_weight,
            "patience_loads" => &mut self.patience_loads,
            "reload_horizon_loads" => &mut self.reload_horizon_loads,
            "preload_margin" => &mut self.preload_margin,
            "preload_idle_loads" => &mut self.preload_idle_loads,
            _ => {
                return Err(ConfigError::Invalid {
                    name: key.to_owned(),
                    reason: format!(
                        "no such [routing] setting (known: {})",
                        Self::KEYS.join(", ")
                    ),
                })
            }
        };
        *field = number;
        Ok(())
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
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source: Box::new(source),
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
            "models" | "local_models" => self.local.models = Some(PathBuf::from(value)),
            "local_workers" => self.local.workers = parse(key, value)?,
            "local_max_labels" => self.local.max_labels = parse(key, value)?,
            "local_slots" => self.local.slots = parse(key, value)?,
            "ort_lib" | "local_ort_lib" => self.local.ort_lib = Some(PathBuf::from(value)),
            "log" | "log_format" => {} // read by the binary's logging setup
            _ if RoutingSection::KEYS.contains(&key) => self.routing.set(key, value)?,
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
        let invalid = |name: &str, reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        self.policy
            .parse::<Policy>()
            .map_err(|reason| invalid("policy", &reason))?;
        if self.max_attempts == 0 {
            return Err(invalid("max_attempts", "must be at least 1"));
        }
        if self.max_queue == 0 {
            return Err(invalid("max_queue", "must be at least 1"));
        }
        if self.heartbeat_timeout_s == 0 {
            return Err(invalid("heartbeat_timeout_s", "must be at least 1"));
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

    pub fn routing(&self) -> RoutingConfig {
        self.routing.apply(RoutingConfig {
            max_queue: self.max_queue,
            max_attempts: self.max_attempts,
            ..RoutingConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "sr-config-{}-{}.toml",
            std::process::id(),
            text.len()
        ));
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
    fn the_shipped_config_file_is_the_defaults() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let config = Config::load(Some(&shipped), Vec::new()).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{config:?}"), format!("{defaults:?}"));
    }
}
