//! Bounds on what one worker can put in the event log: each `Log` record cut to a byte
//! budget (message first, then fields), and a per-worker rate (a token bucket) whose
//! drops are counted. Pure: time comes in as an argument.

use std::time::Instant;

use super::log_sink::floor_char_boundary;
use crate::protocol::LogRecord;

/// Room left in a record's byte bound for what the sink adds around a worker's text
/// (event, worker id, times, JSON quoting).
pub const ENVELOPE_BYTES: usize = 512;

/// A remote worker's log bounds, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// Bytes of message, field names and values kept per record.
    pub record_max_bytes: usize,
    /// Records per second (and burst); 0 drops every record.
    pub rate_per_s: u32,
}

/// Cuts a record's message and fields to `max` bytes in all, on character boundaries.
/// Returns whether anything was cut.
pub fn truncate(record: &mut LogRecord, max: usize) -> bool {
    let mut cut = false;
    let mut budget = max;
    budget = budget.saturating_sub(record.level.len().min(64));
    if record.level.len() > 64 {
        record
            .level
            .truncate(floor_char_boundary(&record.level, 64));
        cut = true;
    }
    if record.message.len() > budget {
        record
            .message
            .truncate(floor_char_boundary(&record.message, budget));
        cut = true;
    }
    budget -= record.message.len();
    let fields = std::mem::take(&mut record.fields);
    for (mut key, mut value) in fields {
        if budget == 0 {
            cut = true;
            break;
        }
        if key.len() > budget {
            key.truncate(floor_char_boundary(&key, budget));
            cut = true;
        }
        budget -= key.len();
        if value.len() > budget {
            value.truncate(floor_char_boundary(&value, budget));
            cut = true;
        }
        budget -= value.len();
        record.fields.insert(key, value);
    }
    cut
}

/// A token bucket of `rate` records per second holding at most `rate`.
#[derive(Debug)]
pub struct LogRate {
    rate: f64,
    tokens: f64,
    last: Instant,
    /// Records dropped since the last one let through.
    dropped: u64,
}

impl LogRate {
    pub fn new(rate_per_s: u32, now: Instant) -> Self {
        Self {
            rate: f64::from(rate_per_s),
            tokens: f64::from(rate_per_s),
            last: now,
            dropped: 0,
        }
    }

    /// Whether a record arriving at `now` may be written; when it may, also how many were
    /// dropped before it (to be reported once).
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.dropped))
        } else {
            self.dropped += 1;
            None
        }
    }

    /// Records dropped and not reported yet.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record(message: &str, fields: &[(&str, &str)]) -> LogRecord {
        LogRecord {
            level: "info".into(),
            message: message.into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            unix_ms: 0,
        }
    }

    fn size(r: &LogRecord) -> usize {
        r.level.len()
            + r.message.len()
            + r.fields
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }

    #[test]
    fn records_are_cut_to_the_budget_on_char_boundaries() {
        let mut small = record("hello", &[("k", "v")]);
        assert!(!truncate(&mut small, 100));
        assert_eq!(small, record("hello", &[("k", "v")]));
        let mut long = record(&"é".repeat(1000), &[("a", &"x".repeat(500))]);
        assert!(truncate(&mut long, 101));
        assert!(size(&long) <= 101, "{}", size(&long));
        let mut fields = record("m", &[("a", &"x".repeat(500)), ("b", &"y".repeat(500))]);
        assert!(truncate(&mut fields, 300));
        assert!(size(&fields) <= 300);
        assert_eq!(fields.message, "m");
        assert_eq!(fields.fields["a"].len(), 300 - 4 - 1 - 1);
    }

    #[test]
    fn the_rate_admits_a_burst_then_counts_drops() {
        let start = Instant::now();
        let mut rate = LogRate::new(3, start);
        let admitted: Vec<_> = (0..5).map(|_| rate.admit(start)).collect();
        assert_eq!(admitted, [Some(0), Some(0), Some(0), None, None]);
        assert_eq!(rate.dropped(), 2);
        // A second later the bucket is full again and the drops are reported once.
        let later = start + Duration::from_secs(1);
        assert_eq!(rate.admit(later), Some(2));
        assert_eq!(rate.admit(later), Some(0));
        let mut off = LogRate::new(0, start);
        assert_eq!(off.admit(start + Duration::from_secs(10)), None);
    }
}
