//! `simulate --config` and `--set`: the `[routing]`, `[placement]` and `[health]`
//! settings a simulation runs with, as `serve` reads them.

use super::cli::{SimError, SimulateArgs};
use crate::config::{Config, HealthSection, PlacementSection, RoutingSection};
use crate::routing::RoutingConfig;

/// How `--set` names a `[health]` setting...
const HEALTH_PREFIX: &str = "health_";
/// ...and a `[placement]` one; a key with neither prefix is a `[routing]` setting.
const PLACEMENT_PREFIX: &str = "placement_";

/// `--config`'s `[routing]`, `[health]` and `[placement]` sections (or the defaults),
/// each with the `--set`s that name it applied.
pub struct Sections {
    pub routing: RoutingSection,
    pub health: HealthSection,
    pub placement: PlacementSection,
}

impl SimulateArgs {
    /// The routing core's knobs: `--config`'s sections (or the defaults), then `--set`.
    pub fn routing_config(&self) -> Result<RoutingConfig, SimError> {
        let Sections {
            routing,
            health,
            placement,
        } = self.sections()?;
        let mut config = routing.apply(RoutingConfig::default());
        config.health = health.to_core();
        config.placement = placement.to_core(&routing.copies);
        Ok(config)
    }

    /// The sections from `--config` (or the defaults), then every `--set`: a
    /// `health_...` key to `[health]`, a `placement_...` key to `[placement]`, any other
    /// to `[routing]`.
    pub fn sections(&self) -> Result<Sections, SimError> {
        let config = match &self.config {
            Some(path) => Config::load(Some(path), Vec::new())?,
            None => Config::default(),
        };
        let mut sections = Sections {
            routing: config.routing,
            health: config.health,
            placement: config.placement,
        };
        for (key, value) in self.settings()? {
            if let Some(key) = key.strip_prefix(HEALTH_PREFIX) {
                sections.health.set(key, value)?;
            } else if let Some(key) = key.strip_prefix(PLACEMENT_PREFIX) {
                sections.placement.set(key, value)?;
            } else {
                sections.routing.set(key, value)?;
            }
        }
        Ok(sections)
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
