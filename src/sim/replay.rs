//! Reads the server's own event log (`events.jsonl`, written by the dispatcher) as a
//! trace: each submitted task arrives when it was submitted, with its label and task
//! type, the run time its worker measured and, for a task that missed, the load time.
//! No IO here: the caller reads the file.

use std::collections::HashMap;

use serde::Deserialize;

use super::trace::{TraceEntry, TraceError};

/// The fields of an event-log record that a replay needs; others are ignored.
#[derive(Debug, Deserialize)]
struct Record {
    event: String,
    #[serde(default)]
    unix_ms: Option<u64>,
    #[serde(default)]
    task_id: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    task_type: Option<String>,
    /// Absent before tenants; the anonymous tenant is replayed as none.
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    label_miss: bool,
    #[serde(default)]
    timings: Option<Timings>,
    #[serde(default)]
    worker_id: Option<String>,
    #[serde(default)]
    detail: Option<WorkerDetail>,
}

/// What a `worker_joined` record says of the worker's shape.
#[derive(Debug, Deserialize)]
struct WorkerDetail {
    #[serde(default)]
    slots: Option<u32>,
    #[serde(default)]
    max_labels: Option<u32>,
}

/// The pool an event log recorded: the most workers connected at once, with the shape
/// (slots, labels held) most of them had then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedPool {
    pub workers: u32,
    pub slots: u32,
    pub max_labels: u32,
}

#[derive(Debug, Deserialize)]
struct Timings {
    #[serde(default)]
    load_ms: u64,
    #[serde(default)]
    run_ms: u64,
}

/// Whether `text` looks like an event log (its first record has an `event` field)
/// rather than a trace.
pub fn is_event_log(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|v| v.get("event").is_some())
}

/// The tasks of an event log as trace entries; see [`EventLog::entries`].
pub fn parse_event_log(text: &str) -> Result<Vec<TraceEntry>, TraceError> {
    let mut log = EventLog::default();
    log.read(text)?;
    log.entries()
}

struct Submitted {
    unix_ms: u64,
    label: String,
    task_type: String,
    tenant: Option<String>,
}

/// The tasks of one or more event-log files, such as a log and its rotated older parts,
/// read in any order: a task submitted in one file may complete in another, and a task
/// read twice counts once.
#[derive(Default)]
pub struct EventLog {
    order: Vec<String>,
    submitted: HashMap<String, Submitted>,
    measured: HashMap<String, (f64, Option<f64>)>,
    worker_events: Vec<WorkerEvent>,
}

/// A worker joining, with its slots and how many labels it holds, or leaving.
struct WorkerEvent {
    unix_ms: u64,
    worker: String,
    joined: Option<(u32, u32)>,
}

impl EventLog {
    /// Reads one file's records; an error names the line within `text`.
    pub fn read(&mut self, text: &str) -> Result<(), TraceError> {
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let record: Record =
                serde_json::from_str(trimmed).map_err(|e| TraceError::BadLine {
                    line,
                    message: format!("invalid event record: {e}"),
                })?;
            let Some(task_id) = record.task_id else {
                self.read_worker_event(record);
                continue;
            };
            match record.event.as_str() {
                "task_submitted" => {
                    let (Some(unix_ms), Some(label), Some(task_type)) =
                        (record.unix_ms, record.label, record.task_type)
                    else {
                        return Err(TraceError::BadLine {
                            line,
                            message: "task_submitted needs unix_ms, label and task_type".into(),
                        });
                    };
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        self.submitted.entry(task_id.clone())
                    {
                        self.order.push(task_id);
                        slot.insert(Submitted {
                            unix_ms,
                            label,
                            task_type,
                            tenant: record.tenant.filter(|t| t != crate::config::ANONYMOUS),
                        });
                    }
                }
                "task_completed" => {
                    let timings = record.timings.unwrap_or(Timings {
                        load_ms: 0,
                        run_ms: 0,
                    });
                    let load = (record.label_miss && timings.load_ms > 0)
                        .then(|| timings.load_ms as f64 / 1000.0);
                    self.measured
                        .insert(task_id, (timings.run_ms as f64 / 1000.0, load));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn read_worker_event(&mut self, record: Record) {
        let (Some(unix_ms), Some(worker)) = (record.unix_ms, record.worker_id) else {
            return;
        };
        let joined = match record.event.as_str() {
            "worker_joined" => {
                let detail = record.detail.as_ref();
                let slots = detail.and_then(|d| d.slots).unwrap_or(1).max(1);
                let max_labels = detail.and_then(|d| d.max_labels).unwrap_or(1).max(1);
                Some((slots, max_labels))
            }
            "worker_left" => None,
            _ => return,
        };
        self.worker_events.push(WorkerEvent {
            unix_ms,
            worker,
            joined,
        });
    }

    /// The pool the log recorded, if any worker joined in it. A worker that joins again
    /// under the same id (a reconnect, a restarted server's local worker) counts once.
    pub fn pool(&self) -> Option<RecordedPool> {
        let mut events: Vec<&WorkerEvent> = self.worker_events.iter().collect();
        events.sort_by_key(|e| e.unix_ms);
        let mut connected: HashMap<&str, (u32, u32)> = HashMap::new();
        let mut peak: Vec<(u32, u32)> = Vec::new();
        for event in events {
            match event.joined {
                Some(shape) => connected.insert(&event.worker, shape),
                None => connected.remove(event.worker.as_str()),
            };
            if connected.len() > peak.len() {
                peak = connected.values().copied().collect();
            }
        }
        let mut counts: HashMap<(u32, u32), u32> = HashMap::new();
        for shape in &peak {
            *counts.entry(*shape).or_default() += 1;
        }
        let ((slots, max_labels), _) = counts
            .into_iter()
            .max_by_key(|(shape, n)| (*n, std::cmp::Reverse(*shape)))?;
        Some(RecordedPool {
            workers: peak.len() as u32,
            slots,
            max_labels,
        })
    }

    /// The tasks read, as trace entries in submission order, times relative to the
    /// first submission. A task that never completed (failed, cancelled, still running
    /// when the log ends) runs for the mean measured run time of its task type; one whose
    /// type never completed at all is left out.
    pub fn entries(self) -> Result<Vec<TraceEntry>, TraceError> {
        let first = self
            .submitted
            .values()
            .map(|s| s.unix_ms)
            .min()
            .unwrap_or(0);
        let mut by_type: HashMap<&str, (f64, u32)> = HashMap::new();
        for (id, (run, _)) in &self.measured {
            if let Some(s) = self.submitted.get(id) {
                let e = by_type.entry(s.task_type.as_str()).or_default();
                e.0 += run;
                e.1 += 1;
            }
        }
        let mut entries = Vec::with_capacity(self.order.len());
        for id in &self.order {
            let s = &self.submitted[id];
            let (run_s, load_s) = match self.measured.get(id) {
                Some((run, load)) => (Some(*run), *load),
                None => (
                    by_type
                        .get(s.task_type.as_str())
                        .map(|(sum, n)| sum / f64::from(*n)),
                    None,
                ),
            };
            if run_s.is_none() {
                continue;
            }
            let entry = TraceEntry {
                at_s: (s.unix_ms - first) as f64 / 1000.0,
                label: s.label.clone(),
                task_type: s.task_type.clone(),
                run_s,
                load_s,
                tenant: s.tenant.clone(),
            };
            super::trace::check(&entry).map_err(|message| TraceError::BadTask {
                task: id.clone(),
                message,
            })?;
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(TraceError::Empty);
        }
        entries.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"unix_ms":1000,"event":"worker_joined","worker_id":"w-1","detail":{}}
{"unix_ms":1000,"event":"task_submitted","task_id":"a","label":"m1","task_type":"embed","label_miss":false,"timings":{"queue_ms":0,"load_ms":0,"run_ms":0,"total_ms":0}}
{"unix_ms":1500,"event":"task_submitted","task_id":"b","label":"m2","task_type":"embed","label_miss":false,"timings":{"queue_ms":0,"load_ms":0,"run_ms":0,"total_ms":0}}
{"unix_ms":1600,"event":"task_started","task_id":"a","label":"m1","task_type":"embed"}
{"unix_ms":2600,"event":"task_completed","task_id":"a","label":"m1","task_type":"embed","label_miss":true,"timings":{"queue_ms":600,"load_ms":800,"run_ms":200,"total_ms":1600}}
{"unix_ms":3000,"event":"task_submitted","task_id":"c","label":"m1","task_type":"embed","label_miss":false,"timings":{"queue_ms":0,"load_ms":0,"run_ms":0,"total_ms":0}}
{"unix_ms":3500,"event":"task_completed","task_id":"c","label":"m1","task_type":"embed","label_miss":false,"timings":{"queue_ms":0,"load_ms":0,"run_ms":400,"total_ms":500}}
{"unix_ms":3600,"event":"task_submitted","task_id":"d","label":"m3","task_type":"other","label_miss":false,"timings":{"queue_ms":0,"load_ms":0,"run_ms":0,"total_ms":0}}
"#;

    #[test]
    fn replays_submissions_with_measured_times() {
        assert!(is_event_log(LOG));
        let entries = parse_event_log(LOG).unwrap();
        let got: Vec<(f64, &str, Option<f64>, Option<f64>)> = entries
            .iter()
            .map(|e| (e.at_s, e.label.as_str(), e.run_s, e.load_s))
            .collect();
        // b never completed: the mean measured run of its type (0.2 and 0.4); d's type
        // never completed at all, so d is left out.
        let want = vec![
            (0.0, "m1", Some(0.2), Some(0.8)),
            (0.5, "m2", Some(0.30000000000000004), None),
            (2.0, "m1", Some(0.4), None),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn parts_of_a_log_read_in_any_order_replay_as_the_whole() {
        // Split after a's start: a is submitted in the older part and completes in the
        // newer one, which is read first; reading a part twice changes nothing.
        let lines: Vec<&str> = LOG.lines().collect();
        let (older, newer) = (lines[..4].join("\n"), lines[4..].join("\n"));
        let mut log = EventLog::default();
        for part in [&newer, &older, &older] {
            log.read(part).unwrap();
        }
        assert_eq!(log.entries().unwrap(), parse_event_log(LOG).unwrap());
    }

    #[test]
    fn the_pool_is_the_most_workers_connected_at_once_in_their_usual_shape() {
        let joined = |at: u64, id: &str, slots: u32, k: u32| {
            format!("{{\"unix_ms\":{at},\"event\":\"worker_joined\",\"worker_id\":\"{id}\",\"detail\":{{\"slots\":{slots},\"max_labels\":{k},\"task_types\":[],\"labels\":[]}}}}")
        };
        let left = |at: u64, id: &str| {
            format!("{{\"unix_ms\":{at},\"event\":\"worker_left\",\"worker_id\":\"{id}\",\"detail\":{{\"reason\":\"gone\"}}}}")
        };
        // Three at once at 3 s (two of 2 slots and K=3); w-1 reconnecting, and w-4
        // joining after w-3 left, never make four.
        let older = [
            joined(1, "w-1", 2, 3),
            joined(2, "w-2", 2, 3),
            joined(3, "w-3", 1, 1),
        ];
        let newer = [
            left(4, "w-3"),
            joined(5, "w-1", 2, 3),
            joined(6, "w-4", 4, 4),
        ];
        let mut log = EventLog::default();
        assert_eq!(log.pool(), None, "no worker joined");
        // The newer part first: the pool goes by the records' times.
        log.read(&newer.join("\n")).unwrap();
        log.read(&older.join("\n")).unwrap();
        let pool = RecordedPool {
            workers: 3,
            slots: 2,
            max_labels: 3,
        };
        assert_eq!(log.pool(), Some(pool));
    }

    #[test]
    fn a_trace_is_not_an_event_log_and_bad_records_name_their_line() {
        assert!(!is_event_log(
            "{\"at_s\": 0, \"label\": \"a\", \"task_type\": \"t\"}"
        ));
        let err = parse_event_log("{\"event\":\"task_submitted\"}\nnot json").unwrap_err();
        assert!(err.to_string().starts_with("trace line 2:"), "{err}");
        let err = parse_event_log("{\"event\":\"task_submitted\",\"task_id\":\"x\"}").unwrap_err();
        assert!(err.to_string().contains("needs unix_ms"), "{err}");
        assert_eq!(
            parse_event_log("{\"event\":\"worker_joined\",\"worker_id\":\"w\"}"),
            Err(TraceError::Empty)
        );
    }

    #[test]
    fn a_submission_beyond_the_longest_trace_is_refused_by_task() {
        // "c" is submitted 31 days after "a": stepping through that gap would take hours.
        let late = LOG.replace("\"unix_ms\":3000,", "\"unix_ms\":2678401000,");
        let err = parse_event_log(&late).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("event log, task c: at_s must be"),
            "{err}"
        );
    }
}
