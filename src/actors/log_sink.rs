//! LogSink: appends task events and worker log records to `<log_dir>/events.jsonl`, one
//! JSON object per line, and keeps the most recent ones in memory. Runs on its own
//! thread (a SyncArbiter) because it writes to disk.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{LineWriter, Write};
use std::path::Path;

use actix::prelude::*;

use super::messages::{RecentRecords, Record};

const RECENT: usize = 1000;

pub struct LogSink {
    file: LineWriter<File>,
    recent: VecDeque<serde_json::Value>,
}

impl LogSink {
    /// Opens (creating) `<dir>/events.jsonl` for appending.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("events.jsonl"))?;
        Ok(Self {
            file: LineWriter::new(file),
            recent: VecDeque::with_capacity(RECENT),
        })
    }
}

impl Actor for LogSink {
    type Context = SyncContext<Self>;
}

impl Handler<Record> for LogSink {
    type Result = ();

    fn handle(&mut self, msg: Record, _: &mut SyncContext<Self>) {
        if let Err(error) = writeln!(self.file, "{}", msg.0) {
            tracing::error!(%error, "cannot write to the event log");
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(msg.0);
    }
}

impl Handler<RecentRecords> for LogSink {
    type Result = MessageResult<RecentRecords>;

    fn handle(&mut self, msg: RecentRecords, _: &mut SyncContext<Self>) -> Self::Result {
        let skip = self.recent.len().saturating_sub(msg.limit);
        MessageResult(self.recent.iter().skip(skip).cloned().collect())
    }
}
