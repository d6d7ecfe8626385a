//! The dispatcher's side of streaming tasks: each chunk a worker sends for a running task
//! goes on to the client that streams it, in order, counted in the metrics. A task whose
//! client got a chunk is not run again when its attempt is lost: what was sent cannot be
//! taken back, so it ends `worker_lost` (or, when the worker reported a failure, with
//! that failure). A client too slow for its chunks ends its task `slow_reader`.

use std::time::Instant;

use actix::prelude::*;

use super::events::TaskEvent;
use super::Dispatcher;
use crate::actors::messages::TaskChunked;
use crate::error_code::ErrorCode;
use crate::routing::{Cancelled, TaskKey};
use crate::tasks::stream::Pushed;
use crate::tasks::{Ending, ErrorBody, RawJson};

impl Dispatcher {
    /// Ends a running or waiting task with `code`, stopping it on its worker.
    pub(super) fn end_task(&mut self, key: TaskKey, code: ErrorCode, message: String) {
        if let Cancelled::Running(action) = self.scheduler.cancel(key) {
            self.apply(vec![action]);
        }
        let ending = Ending::Failed {
            error: ErrorBody { code, message },
            ran: None,
        };
        if let Some(view) = self.tasks.finish(key, Instant::now(), ending) {
            tracing::warn!(task_id = %view.task_id, code = code.as_str(), "streaming task ended");
            self.task_event(TaskEvent::Failed, &view);
        }
    }

    /// Tasks whose attempt was just lost (to run again): those whose client already got
    /// chunks end instead.
    pub(super) fn end_streamed(&mut self, keys: impl IntoIterator<Item = TaskKey>) {
        for key in keys {
            let Some(record) = self.tasks.get_key(key) else {
                continue;
            };
            let streamed = record.streamed();
            if streamed == 0 || record.view().status.is_final() {
                continue;
            }
            let message = format!(
                "the task's worker was lost after {streamed} chunks reached the client; they cannot be taken back, so it is not run again"
            );
            self.end_task(key, ErrorCode::WorkerLost, message);
        }
    }
}

impl Handler<TaskChunked> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: TaskChunked, _: &mut Context<Self>) {
        let Some(worker) = self.live(&msg.worker_id, msg.conn) else {
            return;
        };
        let chunk = msg.chunk;
        let Some(key) = self.tasks.key_of(&chunk.task_id) else {
            return;
        };
        if !self.scheduler.running_on(worker).contains(&key) {
            return; // late: the task was taken off this worker
        }
        if let Err(e) = RawJson::parse(chunk.chunk_json.clone()) {
            let message = format!("chunk {} from the worker is not JSON: {e}", chunk.seq);
            return self.end_task(key, ErrorCode::InvalidResult, message);
        }
        let Some(seen) = self.tasks.chunk(key, chunk.seq, &chunk.chunk_json) else {
            return;
        };
        if let Some(label) = self.tasks.get_key(key).map(|r| r.view().label.clone()) {
            self.metrics.task_chunk(&label, seen.first_after);
        }
        if seen.pushed == Some(Pushed::Overflow) {
            let message = format!(
                "the client read its chunks too slowly: more than {} bytes waited for it",
                self.stream_buffer_bytes
            );
            self.end_task(key, ErrorCode::SlowReader, message);
        }
        // `Pushed::Gone`: the client hung up, and its going cancels the task.
    }
}
