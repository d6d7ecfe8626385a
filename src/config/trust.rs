//! Who may call, as configured: tokens given inline or read from files (`*_token_file`,
//! `worker_tokens_dir`), per-worker tokens, and tenants. Read once at load; every token
//! is a [`Secret`], so none is ever shown.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::secret::{read_token_file, Secret};
use super::{Config, ConfigError};

pub use crate::tasks::ANONYMOUS;

/// One `[tenants.NAME]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// The bearer token that selects this tenant.
    #[serde(default)]
    pub token: Secret,
    /// ...or a file holding it.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Tasks queued plus running at most; more are refused with 429 (unset: no limit).
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Waiting tasks of a higher priority are served first.
    #[serde(default)]
    pub priority: i32,
    /// Share of the pool among tenants of equal priority when it is saturated.
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

fn invalid(name: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: name.into(),
        reason: reason.into(),
    }
}

/// `inline`, or the token in `file`; both is a mistake.
fn token_or_file(name: &str, inline: &Secret, file: Option<&Path>) -> Result<Secret, ConfigError> {
    match file {
        None => Ok(inline.clone()),
        Some(_) if inline.is_set() => Err(invalid(
            name,
            format!("set {name} or {name}_file, not both"),
        )),
        Some(path) => {
            read_token_file(path).map_err(|reason| invalid(format!("{name}_file"), reason))
        }
    }
}

/// Each file of `dir` is one worker's token, named by the worker's id. Hidden entries
/// are skipped (a mounted Kubernetes Secret keeps its own bookkeeping in `..data`).
fn read_worker_tokens(dir: &Path) -> Result<Vec<(String, Secret)>, ConfigError> {
    let name = "worker_tokens_dir";
    let entries = std::fs::read_dir(dir)
        .map_err(|e| invalid(name, format!("cannot read {}: {e}", dir.display())))?;
    let mut tokens = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| invalid(name, format!("cannot read {}: {e}", dir.display())))?;
        let id = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if id.starts_with('.') || !path.is_file() {
            continue;
        }
        tokens.push((
            id,
            read_token_file(&path).map_err(|reason| invalid(name, reason))?,
        ));
    }
    Ok(tokens)
}

impl Config {
    /// Reads every token file into its setting and checks the tokens and tenants: no
    /// token serves two callers, every tenant has one.
    pub(super) fn read_trust(&mut self) -> Result<(), ConfigError> {
        let api = &mut self.api;
        api.client_token = token_or_file(
            "client_token",
            &api.client_token,
            api.client_token_file.as_deref(),
        )?;
        let workers = &mut self.workers;
        workers.worker_token = token_or_file(
            "worker_token",
            &workers.worker_token,
            workers.worker_token_file.as_deref(),
        )?;
        if let Some(dir) = workers.worker_tokens_dir.clone() {
            for (id, token) in read_worker_tokens(&dir)? {
                if workers.worker_tokens.insert(id.clone(), token).is_some() {
                    return Err(invalid(
                        "worker_tokens_dir",
                        format!("worker '{id}' has a token in [worker_tokens] too"),
                    ));
                }
            }
        }
        for (name, tenant) in &mut self.api.tenants {
            let key = format!("tenants.{name}.token");
            tenant.token = token_or_file(&key, &tenant.token, tenant.token_file.as_deref())?;
        }
        self.check_trust()
    }

    fn check_trust(&self) -> Result<(), ConfigError> {
        let workers = &self.workers;
        for (id, token) in &workers.worker_tokens {
            if !token.is_set() {
                return Err(invalid(format!("worker_tokens.{id}"), "must not be empty"));
            }
            if id.is_empty() || id.len() > self.api.max_name_len {
                return Err(invalid(
                    "worker_tokens",
                    format!("worker id '{id}' is not a valid id"),
                ));
            }
        }
        // Every configured token with its owner: no token may serve two of them.
        let mut owners: Vec<(String, &Secret)> = Vec::new();
        owners.push(("worker_token".to_owned(), &workers.worker_token));
        for (id, token) in &workers.worker_tokens {
            owners.push((format!("worker_tokens.{id}"), token));
        }
        owners.push(("client_token".to_owned(), &self.api.client_token));
        for (name, tenant) in &self.api.tenants {
            owners.push((format!("tenants.{name}"), &tenant.token));
        }
        let owners: Vec<(String, &Secret)> =
            owners.into_iter().filter(|(_, s)| s.is_set()).collect();
        for (i, (owner, token)) in owners.iter().enumerate() {
            // Compared as secrets are: never shown, only named by their owners.
            if let Some((first, _)) = owners[..i].iter().find(|(_, t)| t.matches(token.expose())) {
                return Err(invalid(
                    owner.clone(),
                    format!("has the same token as {first}"),
                ));
            }
        }
        for (name, tenant) in &self.api.tenants {
            let key = |field: &str| format!("tenants.{name}.{field}");
            if name == ANONYMOUS || name.is_empty() || name.len() > self.api.max_name_len {
                return Err(invalid(
                    format!("tenants.{name}"),
                    format!(
                        "a tenant's name must be 1..={} bytes and not '{ANONYMOUS}'",
                        self.api.max_name_len
                    ),
                ));
            }
            if !tenant.token.is_set() {
                return Err(invalid(
                    key("token"),
                    "every tenant needs a token (or token_file)",
                ));
            }
            if !(tenant.weight.is_finite() && tenant.weight > 0.0) {
                return Err(invalid(
                    key("weight"),
                    format!("must be above 0 (got {})", tenant.weight),
                ));
            }
            if tenant.max_in_flight == Some(0) {
                return Err(invalid(
                    key("max_in_flight"),
                    "must be at least 1 (leave it out for no limit)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tests_trust.rs"]
mod tests;
