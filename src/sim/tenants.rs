//! `simulate --tenant NAME=PRIORITY[:WEIGHT]`: the tenants a trace is replayed with, as
//! `[tenants.NAME]` gives them to `serve`.

use super::scenario::Arrivals;
use super::SimError;
use crate::routing::Share;

/// The tenants `--tenant` describes, and every other tenant the trace names (priority
/// 0, weight 1), each with its own fair-share account.
pub fn parse(flags: &[String], arrivals: &Arrivals) -> Result<Vec<(String, Share)>, SimError> {
    let mut tenants: Vec<(String, Share)> = Vec::new();
    for item in flags {
        let invalid = |reason: &str| SimError::InvalidArgs(format!("--tenant '{item}': {reason}"));
        let (name, rest) = item
            .split_once('=')
            .ok_or_else(|| invalid("expected NAME=PRIORITY[:WEIGHT], e.g. live=10"))?;
        let (priority, weight) = rest.split_once(':').unwrap_or((rest, "1"));
        let priority: i32 = priority
            .trim()
            .parse()
            .map_err(|_| invalid("the priority must be an integer"))?;
        let weight: f64 = weight
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w > 0.0)
            .ok_or_else(|| invalid("the weight must be a number above 0"))?;
        if name.is_empty() || tenants.iter().any(|(n, _)| n == name) {
            return Err(invalid("each tenant once, with a name"));
        }
        let tenant = tenants.len() as u32 + 1;
        tenants.push((
            name.to_owned(),
            Share {
                tenant,
                priority,
                weight,
            },
        ));
    }
    if let Arrivals::Trace(entries) = arrivals {
        for name in entries.iter().filter_map(|e| e.tenant.as_deref()) {
            if !tenants.iter().any(|(n, _)| n == name) {
                let tenant = tenants.len() as u32 + 1;
                let share = Share {
                    tenant,
                    ..Share::default()
                };
                tenants.push((name.to_owned(), share));
            }
        }
    }
    Ok(tenants)
}
