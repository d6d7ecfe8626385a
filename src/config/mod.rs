//! Server configuration: defaults, then `config/default.toml` (or `--config FILE`), then
//! `SMART_ROUTING_*` environment variables, then command-line flags. Every setting is
//! declared once in `settings` (the `settings!` macro of `declare` derives the rest);
//! `value` reads each type from text. Depends on nothing but serde, toml, and the types
//! of the routing core and the store that settings hold.

mod declare;
mod secret;
mod settings;
mod trust;
mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::routing::{Bounds, Health, Placement, Policy, Priors, RoutingConfig};
use crate::store::Durability;

pub use secret::Secret;
pub use settings::*;
pub use trust::{TenantSettings, ANONYMOUS};

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

/// A setting `serve` takes as a flag (see `settings::FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    /// `--long`.
    pub long: &'static str,
    pub help: &'static str,
    /// The setting, by the name `Config::set` takes.
    pub key: &'static str,
}

/// Earlier names of settings, still read from the environment.
const ALIASES: [(&str, &str); 2] = [("models", "local_models"), ("ort_lib", "local_ort_lib")];

impl RoutingSection {
    /// The `[routing]` settings, by the names the file uses.
    pub fn keys() -> &'static [&'static str] {
        Self::KEYS
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

impl ServerSettings {
    /// The certificate chain and key files, when TLS is on.
    pub fn tls(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }
}

impl PlacementSection {
    /// The planner's knobs, with the operator's minimum copies per label.
    pub fn to_core(&self, copies: &BTreeMap<String, u32>) -> Placement {
        Placement {
            interval_s: self.interval_s,
            copy_utilization: self.copy_utilization,
            shrink_after_s: self.shrink_after_s,
            load_budget: self.load_budget,
            load_window_s: self.load_window_s,
            active_s: self.active_s,
            rate_tau_s: self.rate_tau_s,
            spare_share: self.spare_share,
            patience_at_target_loads: self.patience_at_target_loads,
            follow_demand: self.follow_demand,
            min_copies: copies.iter().map(|(l, n)| (l.clone(), *n)).collect(),
        }
    }
}

impl HealthSection {
    /// The routing core's health knobs.
    pub fn to_core(&self) -> Health {
        Health {
            retry_failed: self.retry_failed,
            retry_budget_ratio: self.retry_budget_ratio,
            retry_budget_min_per_s: self.retry_budget_min_per_s,
            retry_budget_window_s: self.retry_budget_window_s,
            consecutive_failures: self.consecutive_failures,
            failure_rate: self.failure_rate,
            failure_window: self.failure_window,
            ejection_base_s: self.ejection_base_s,
            ejection_max_s: self.ejection_max_s,
            max_ejection_percent: self.max_ejection_percent,
            load_backoff_s: self.load_backoff_s,
            load_backoff_max_s: self.load_backoff_max_s,
            stuck_factor: self.stuck_factor,
            stuck_floor_s: self.stuck_floor_s,
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
                let file: settings::File =
                    toml::from_str(&text).map_err(|error| ConfigError::Parse {
                        path: path.to_owned(),
                        error: Box::new(error),
                    })?;
                file.into()
            }
        };
        for (name, value) in env {
            if let Some(key) = name.strip_prefix("SMART_ROUTING_") {
                config.set(&key.to_ascii_lowercase(), &value)?;
            }
        }
        config.validate()?;
        config.read_trust()?;
        Ok(config)
    }

    /// Sets one setting from its text form (environment and flags): a top-level key, or
    /// a section's key with its prefix (`local_workers`; `[routing]` knobs have none).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        if matches!(key, "log" | "log_format") {
            return Ok(()); // read by the binary's logging setup
        }
        let key = ALIASES
            .iter()
            .find(|(alias, _)| *alias == key)
            .map_or(key, |(_, name)| name);
        if self.set_declared(key, value)? {
            return Ok(());
        }
        Err(ConfigError::Invalid {
            name: format!("SMART_ROUTING_{}", key.to_ascii_uppercase()),
            reason: "no such setting".to_owned(),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_declared()?;
        let invalid = |name: &str, reason: &str| ConfigError::Invalid {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        for (task_type, limit) in &self.dispatch.max_run_s_by_type {
            value::positive_seconds(limit)
                .map_err(|reason| invalid(&format!("max_run_s_by_type.{task_type}"), &reason))?;
        }
        let server = &self.server;
        if server.tls_cert.is_some() != server.tls_key.is_some() {
            let missing = if server.tls_cert.is_none() {
                "tls_cert"
            } else {
                "tls_key"
            };
            return Err(invalid(
                missing,
                "TLS needs both tls_cert and tls_key (PEM files), or neither",
            ));
        }
        let local = &self.local;
        if local.workers > 0 && (local.max_labels == 0 || local.slots == 0) {
            return Err(invalid("local", "max_labels and slots must be at least 1"));
        }
        if local.workers > 0 && local.models.is_none() {
            return Err(invalid(
                "local_workers",
                "local workers need a model repository (--models DIR)",
            ));
        }
        Ok(())
    }

    pub fn policy(&self) -> Policy {
        self.dispatch.policy
    }

    /// The store's durability; `None` when the store is off.
    pub fn store_durability(&self) -> Option<Durability> {
        (self.store.durability != Durability::Off).then_some(self.store.durability)
    }

    pub fn routing(&self) -> RoutingConfig {
        let dispatch = &self.dispatch;
        self.routing.apply(RoutingConfig {
            max_queue: dispatch.max_queue,
            max_attempts: dispatch.max_attempts,
            bounds: Bounds {
                max_run_s: dispatch.max_run_s,
                max_run_s_by_type: dispatch
                    .max_run_s_by_type
                    .iter()
                    .map(|(t, s)| (t.clone(), *s))
                    .collect(),
                worker_grace_s: dispatch.worker_grace_s,
                label_idle_s: dispatch.label_idle_s as f64,
            },
            health: self.health.to_core(),
            placement: self.placement.to_core(&self.routing.copies),
            ..RoutingConfig::default()
        })
    }
}

#[cfg(test)]
mod tests;
