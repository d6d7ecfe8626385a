//! What remote sessions and local workers do alike with a worker's reports: label events
//! and task chunks go to the dispatcher, log records to the log sink.

use actix::prelude::*;
use serde_json::json;

use super::dispatcher::Dispatcher;
use super::messages::{LabelEvicted, LabelLoaded, Record, TaskChunked};
use crate::protocol::FromWorker;

/// Passes label events and logs on; gives back the reports the caller handles itself
/// (task results, register, heartbeat).
pub fn relay(
    report: FromWorker,
    conn: u64,
    worker_id: &str,
    dispatcher: &Addr<Dispatcher>,
    log: &Recipient<Record>,
) -> Option<FromWorker> {
    let worker_id = worker_id.to_owned();
    match report {
        FromWorker::LabelLoaded { label } => dispatcher.do_send(LabelLoaded {
            conn,
            worker_id,
            label,
        }),
        FromWorker::LabelEvicted { label } => dispatcher.do_send(LabelEvicted {
            conn,
            worker_id,
            label,
        }),
        FromWorker::TaskChunk(chunk) => dispatcher.do_send(TaskChunked {
            conn,
            worker_id,
            chunk,
        }),
        FromWorker::Log(record) => log.do_send(Record(json!({
            "unix_ms": record.unix_ms,
            "event": "worker_log",
            "worker_id": worker_id,
            "level": record.level,
            "message": record.message,
            "fields": record.fields,
        }))),
        other => return Some(other),
    }
    None
}
