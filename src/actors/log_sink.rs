//! LogSink: appends task events and worker log records to the event log
//! (`<log_dir>/events.jsonl`, rotated by size), one JSON object per line of at most
//! `log_record_max_bytes`, and reads the newest ones back for `GET /logs`. Runs on its own
//! thread (a SyncArbiter) because it writes to disk.

use actix::prelude::*;
use serde_json::Value;

use super::log_file::{LogFile, LogSettings};
use super::messages::{RecentRecords, Record};

/// The most bytes `GET /logs` reads back from disk, whatever its limit.
const TAIL_MAX_BYTES: u64 = 32 * 1024 * 1024;

pub struct LogSink {
    /// `None` when the event log is switched off.
    file: Option<LogFile>,
    record_max_bytes: usize,
}

impl LogSink {
    /// Opens (creating) the event log, or a sink that drops everything when `settings`
    /// is `None`.
    pub fn open(settings: Option<LogSettings>, record_max_bytes: usize) -> std::io::Result<Self> {
        let file = settings.map(LogFile::open).transpose()?;
        Ok(Self {
            file,
            record_max_bytes,
        })
    }
}

impl Actor for LogSink {
    type Context = SyncContext<Self>;
}

impl Handler<Record> for LogSink {
    type Result = ();

    fn handle(&mut self, msg: Record, _: &mut SyncContext<Self>) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let line = fit(msg.0, self.record_max_bytes);
        if let Err(error) = file.append(&line) {
            tracing::error!(%error, "cannot write to the event log");
        }
    }
}

impl Handler<RecentRecords> for LogSink {
    type Result = MessageResult<RecentRecords>;

    fn handle(&mut self, msg: RecentRecords, _: &mut SyncContext<Self>) -> Self::Result {
        let Some(file) = self.file.as_ref() else {
            return MessageResult(Vec::new());
        };
        let lines = file
            .tail(msg.limit, TAIL_MAX_BYTES)
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read the event log");
                Vec::new()
            });
        MessageResult(
            lines
                .iter()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect(),
        )
    }
}

/// A record as one line of at most `max` bytes: long strings are cut first; a record
/// still too long keeps only its event, time and ids, marked `"truncated"`.
pub fn fit(record: Value, max: usize) -> Vec<u8> {
    let line = record.to_string().into_bytes();
    if line.len() <= max {
        return line;
    }
    let mut cut = record.clone();
    cut_strings(&mut cut, max / 8);
    if let Value::Object(map) = &mut cut {
        map.insert("truncated".into(), Value::Bool(true));
    }
    let shorter = cut.to_string().into_bytes();
    if shorter.len() <= max {
        return shorter;
    }
    let mut stub = serde_json::Map::new();
    if let Value::Object(map) = &record {
        for key in ["unix_ms", "event", "task_id", "worker_id", "label", "level"] {
            if let Some(value) = map.get(key) {
                let mut value = value.clone();
                cut_strings(&mut value, 256);
                stub.insert(key.into(), value);
            }
        }
    }
    stub.insert("truncated".into(), Value::Bool(true));
    stub.insert("original_bytes".into(), line.len().into());
    Value::Object(stub).to_string().into_bytes()
}

/// Cuts every string in `value` to at most `max` bytes, on a character boundary.
fn cut_strings(value: &mut Value, max: usize) {
    match value {
        Value::String(s) => {
            let end = floor_char_boundary(s, max);
            s.truncate(end);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| cut_strings(v, max)),
        Value::Object(map) => map.values_mut().for_each(|v| cut_strings(v, max)),
        _ => {}
    }
}

/// The largest index `<= max` that is a character boundary of `s`.
pub fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_cut_to_the_bound() {
        let small = json!({"event": "x", "message": "hi"});
        assert_eq!(fit(small.clone(), 1024), small.to_string().into_bytes());
        let long = json!({"event": "worker_log", "message": "é".repeat(10_000)});
        let line = fit(long, 1024);
        assert!(line.len() <= 1024, "{}", line.len());
        let back: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(back["truncated"], true);
        assert_eq!(back["event"], "worker_log");
        // Many fields: even cut strings do not fit, so only the ids stay.
        let fields: serde_json::Map<String, Value> =
            (0..1000).map(|i| (format!("k{i}"), json!("v"))).collect();
        let wide = json!({"event": "worker_log", "worker_id": "w", "fields": fields});
        let line = fit(wide, 1024);
        assert!(line.len() <= 1024);
        let back: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(back["worker_id"], "w");
        assert_eq!(back["truncated"], true);
    }
}
