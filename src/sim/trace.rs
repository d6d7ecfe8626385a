//! Open-loop arrival traces: JSONL, one `{"at_s": 12.5, "label": "x", "task_type": "..."}`
//! per line, optionally with the task's measured `run_s` and its label's `load_s`, parsed
//! with errors that name the line. No IO here: the caller reads the file.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One arrival of a trace.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceEntry {
    /// Seconds since the start of the trace (unscaled).
    pub at_s: f64,
    pub label: String,
    pub task_type: String,
    /// Seconds the task runs once its label is loaded (unscaled); drawn from the
    /// simulated task type's distribution when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_s: Option<f64>,
    /// Seconds a worker takes to load this entry's label (unscaled); per label, the
    /// mean of the values given; drawn from the simulated distribution when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_s: Option<f64>,
    /// The tenant that submits it; its priority and weight come from `simulate --tenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// The latest arrival a trace may have (30 days, unscaled): the simulator steps through
/// busy virtual time tick by tick, and even idle time costs it a step of its tick grid
/// per tick (about a millisecond a day), so this bounds a replay's time.
pub const MAX_AT_S: f64 = 30.0 * 86_400.0;

/// The longest `run_s` or `load_s` a trace may give (1 day, unscaled), for the same reason.
pub const MAX_DURATION_S: f64 = 86_400.0;

/// Why a trace could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    #[error("trace line {line}: {message}")]
    BadLine { line: usize, message: String },
    #[error("event log, task {task}: {message}")]
    BadTask { task: String, message: String },
    #[error("the trace has no arrivals")]
    Empty,
}

/// Checks one entry's fields: what is wrong with it, if anything.
pub(super) fn check(entry: &TraceEntry) -> Result<(), String> {
    let seconds = |name: &str, value: f64, max: f64| {
        if value.is_finite() && (0.0..=max).contains(&value) {
            Ok(())
        } else {
            // Huge values in exponent form, not hundreds of digits.
            let got = if value.abs() < 1e12 {
                value.to_string()
            } else {
                format!("{value:e}")
            };
            Err(format!(
                "{name} must be a number of seconds from 0 to {max}, got {got}"
            ))
        }
    };
    seconds("at_s", entry.at_s, MAX_AT_S)?;
    if entry.label.is_empty() {
        return Err("label must not be empty".to_owned());
    }
    if entry.task_type.is_empty() {
        return Err("task_type must not be empty".to_owned());
    }
    if entry.tenant.as_deref() == Some("") {
        return Err("tenant must not be empty".to_owned());
    }
    for (name, value) in [("run_s", entry.run_s), ("load_s", entry.load_s)] {
        if let Some(value) = value {
            seconds(name, value, MAX_DURATION_S)?;
        }
    }
    Ok(())
}

/// Parses a JSONL trace; blank lines and lines starting with `#` are skipped. Entries are
/// returned in arrival order (stable for equal times).
pub fn parse_trace(text: &str) -> Result<Vec<TraceEntry>, TraceError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = |message: String| TraceError::BadLine { line, message };
        let entry: TraceEntry =
            serde_json::from_str(trimmed).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        check(&entry).map_err(bad)?;
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(TraceError::Empty);
    }
    entries.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    Ok(entries)
}

/// Per label, the mean `load_s` its entries give (labels without one are left out).
pub fn label_load_times(entries: &[TraceEntry]) -> HashMap<String, f64> {
    let mut sums: HashMap<String, (f64, u32)> = HashMap::new();
    for entry in entries {
        if let Some(load_s) = entry.load_s {
            let e = sums.entry(entry.label.clone()).or_default();
            e.0 += load_s;
            e.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(label, (sum, n))| (label, sum / f64::from(n)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_in_arrival_order_skipping_blanks_and_comments() {
        let text = "# a trace\n\
            {\"at_s\": 2.0, \"label\": \"b\", \"task_type\": \"sample_task_2\"}\n\
            \n\
            {\"at_s\": 0.5, \"label\": \"a\", \"task_type\": \"sample_task_1\"}\n";
        let entries = parse_trace(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].label, "a");
        assert_eq!(entries[1].at_s, 2.0);
        assert_eq!(entries[1].run_s, None);
    }

    #[test]
    fn measured_run_and_load_times_are_kept() {
        let text = "{\"at_s\": 0, \"label\": \"a\", \"task_type\": \"embed\", \"run_s\": 0.02, \"load_s\": 3.5}";
        let entries = parse_trace(text).unwrap();
        assert_eq!(entries[0].run_s, Some(0.02));
        assert_eq!(entries[0].load_s, Some(3.5));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "{\"at_s\": 1, \"label\": \"a\", \"task_type\": \"t\"}\n{not json",
                2,
                "invalid JSON",
            ),
            ("{\"at_s\": 1, \"label\": \"a\"}", 1, "task_type"),
            (
                "\n\n{\"at_s\": -1, \"label\": \"a\", \"task_type\": \"t\"}",
                3,
                "at_s must be",
            ),
            // Far-off times would keep the simulator stepping through virtual time.
            (
                "{\"at_s\": 1e308, \"label\": \"a\", \"task_type\": \"t\"}",
                1,
                "at_s must be a number of seconds from 0 to 2592000",
            ),
            (
                "{\"at_s\": 1, \"label\": \"a\", \"task_type\": \"t\", \"run_s\": 1e300}",
                1,
                "run_s must be",
            ),
            (
                "{\"at_s\": 1, \"label\": \"a\", \"task_type\": \"t\", \"load_s\": 86401}",
                1,
                "load_s must be a number of seconds from 0 to 86400",
            ),
            (
                "{\"at_s\": 1, \"label\": \"\", \"task_type\": \"t\"}",
                1,
                "label",
            ),
            (
                "{\"at_s\": \"soon\", \"label\": \"a\", \"task_type\": \"t\"}",
                1,
                "invalid JSON",
            ),
            (
                "{\"at_s\": 1, \"label\": \"a\", \"task_type\": \"t\", \"x\": 1}",
                1,
                "unknown field",
            ),
            (
                "{\"at_s\": 1, \"label\": \"a\", \"task_type\": \"t\", \"run_s\": -2}",
                1,
                "run_s must be",
            ),
            (
                "{\"at_s\": 1, \"label\": \"a\", \"task_type\": \"t\", \"load_s\": \"x\"}",
                1,
                "invalid JSON",
            ),
        ];
        for (text, line, needle) in cases {
            let err = parse_trace(text).unwrap_err();
            let TraceError::BadLine { line: got, .. } = &err else {
                panic!("{text}: {err}");
            };
            assert_eq!(*got, line, "{text}");
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("trace line {line}:")),
                "{message}"
            );
            assert!(message.contains(needle), "{message}");
        }
    }

    #[test]
    fn an_empty_trace_is_refused() {
        assert_eq!(parse_trace("\n# nothing\n"), Err(TraceError::Empty));
    }
}
