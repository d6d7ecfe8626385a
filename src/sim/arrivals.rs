//! What `simulate --trace` replays: the files read into arrivals (a trace, an event log
//! or its parts, with the pool the log recorded), the task types their workers accept,
//! and the check that every accepted task has a run time.

use std::path::PathBuf;

use super::cli::SimError;
use super::replay::{is_event_log, EventLog, RecordedPool};
use super::trace::{parse_trace, TraceEntry};
use crate::workload;

/// The task types the workers of a replay accept: `--task-types` when given, else the
/// simulated types plus every type the trace gives run times for (a task of another
/// type finds no worker and fails, as it would live).
pub(super) fn trace_task_types(entries: &[TraceEntry], given: &[String]) -> Vec<String> {
    let mut types = workload::task_types_or_default(given);
    if given.is_empty() {
        for entry in entries.iter().filter(|e| e.run_s.is_some()) {
            if !types.contains(&entry.task_type) {
                types.push(entry.task_type.clone());
            }
        }
    }
    types
}

/// The arrivals of `--trace` (one trace or event log, or the parts of one event log), and
/// the pool an event log recorded.
pub(super) fn read_trace(
    paths: &[PathBuf],
) -> Result<(Vec<TraceEntry>, Option<RecordedPool>), SimError> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|error| SimError::ReadTrace {
            path: path.clone(),
            error,
        })
    };
    let in_file = |path: &PathBuf| {
        let path = path.clone();
        move |error| SimError::Trace { path, error }
    };
    let mut log = EventLog::default();
    for path in paths {
        let text = read(path)?;
        if !is_event_log(&text) {
            if let [path] = paths {
                return Ok((parse_trace(&text).map_err(in_file(path))?, None));
            }
            return Err(SimError::NotAnEventLog { path: path.clone() });
        }
        log.read(&text).map_err(in_file(path))?;
    }
    let pool = log.pool();
    let all: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let entries = log
        .entries()
        .map_err(in_file(&PathBuf::from(all.join(" "))))?;
    Ok((entries, pool))
}

/// Refuses trace lines the workers would run for no time at all: a task type they accept
/// (named in `--task-types`) with no `run_s` and no simulated run time. (A type they do
/// not accept fails for want of a worker, as it would on a server.)
pub(super) fn check_run_times(entries: &[TraceEntry], accepted: &[String]) -> Result<(), SimError> {
    let unknown = entries.iter().find(|e| {
        e.run_s.is_none()
            && !workload::is_simulated_type(&e.task_type)
            && accepted.contains(&e.task_type)
    });
    match unknown {
        Some(entry) => Err(SimError::InvalidArgs(format!(
            "task type '{}' has trace lines without run_s (the first at {} s), and the \
             simulator draws run times only for {}: give those lines a run_s",
            entry.task_type,
            entry.at_s,
            workload::DEFAULT_TASK_TYPES.join(" and ")
        ))),
        None => Ok(()),
    }
}
