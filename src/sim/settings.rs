//! `simulate --config` and `--set`: the `[routing]`, `[placement]` and `[health]`
//! settings a simulation runs with, as `serve` reads them.

use super::cli::{SimError, SimulateArgs};
use crate::config::{Config, HealthSection, PlacementSection, RoutingSection};
use crate::routing::RoutingConfig;

/// How `--set` names a `[health]` setting...
const HEALTH_PREFIX: &str = "health_";
/// ...and a `[placement]` one; a key with neither prefix is a `[routing]` setting.
const PLACEMENT_PREFIX: &str = "placement_";

impl SimulateArgs {
    /// The routing core's knobs: `--config`'s sections (or the defaults), then `--set`.
    pub fn routing_config(&self) -> Result<RoutingConfig, SimError> {
        let routing = self.routing_section()?;
        let mut config = routing.apply(RoutingConfig::default());
        config.health = self.health_section()?.to_core();
        config.placement = self.placement_section()?.to_core(&routing.copies);
        Ok(config)
    }

    /// The `[routing]` section: from `--config` (or the defaults), then every `--set`
    /// of neither `[health]` nor `[placement]`.
    pub fn routing_section(&self) -> Result<RoutingSection, SimError> {
        let mut section = match &self.config {
            Some(path) => Config::load(Some(path), Vec::new())?.routing,
            None => RoutingSection::default(),
        };
        for (key, value) in self.settings()? {
            if !key.starts_with(HEALTH_PREFIX) && !key.starts_with(PLACEMENT_PREFIX) {
                section.set(key, value)?;
            }
        }
        Ok(section)
    }

    /// The `[health]` section: from `--config` (or the defaults), then every
    /// `--set health_...`.
    fn health_section(&self) -> Result<HealthSection, SimError> {
        let mut section = match &self.config {
            Some(path) => Config::load(Some(path), Vec::new())?.health,
            None => HealthSection::default(),
        };
        for (key, value) in self.settings()? {
            if let Some(key) = key.strip_prefix(HEALTH_PREFIX) {
                section.set(key, value)?;
            }
        }
        Ok(section)
    }

    /// The `[placement]` section: from `--config` (or the defaults), then every
    /// `--set placement_...`.
    fn placement_section(&self) -> Result<PlacementSection, SimError> {
        let mut section = match &self.config {
            Some(path) => Config::load(Some(path), Vec::new())?.placement,
            None => PlacementSection::default(),
        };
        for (key, value) in self.settings()? {
            if let Some(key) = key.strip_prefix(PLACEMENT_PREFIX) {
                section.set(key, value)?;
            }
        }
        Ok(section)
    }

    fn settings(&self) -> Result<Vec<(&str, &str)>, SimError> {
        self.set
            .iter()
            .map(|item| split_setting(item, "--set"))
            .collect()
    }
}

/// `KEY=VALUE` split at its first `=`, both sides trimmed and non-empty.
pub(super) fn split_setting<'a>(item: &'a str, flag: &str) -> Result<(&'a str, &'a str), SimError> {
    match item.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
            Ok((key.trim(), value.trim()))
        }
        _ => Err(SimError::InvalidArgs(format!(
            "{flag} expects KEY=VALUE, got '{item}'"
        ))),
    }
}
