//! Wall-clock time, for what is stored, logged or sent to workers as a Unix time. Depends
//! on nothing else in the crate; the routing core never reads it (time comes in as an
//! argument there).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is set before it).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
