//! One tracing span per live task, from submission to its final status, carrying
//! `task_id`, `label`, `task_type`, then `worker_id` and `status`. The dispatcher enters
//! it while it handles anything about that task, so its log lines and an OTLP export
//! (see `telemetry`) show the task's whole path. Owned by the dispatcher actor alone.

use std::cell::RefCell;
use std::collections::HashMap;

use tracing::field::Empty;
use tracing::Span;

#[derive(Default)]
pub struct TaskSpans {
    /// Live tasks only: a span is closed (dropped) when its task ends.
    open: RefCell<HashMap<String, Span>>,
}

impl TaskSpans {
    /// Opens the span of a newly submitted task.
    pub fn open(&self, task_id: &str, label: &str, task_type: &str) -> Span {
        let span = tracing::info_span!(
            "task",
            task_id = %task_id,
            label = %label,
            task_type = %task_type,
            worker_id = Empty,
            status = Empty,
        );
        self.open
            .borrow_mut()
            .insert(task_id.to_owned(), span.clone());
        span
    }

    /// The task's span, or a disabled one for a task that has none.
    pub fn get(&self, task_id: &str) -> Span {
        self.open
            .borrow()
            .get(task_id)
            .cloned()
            .unwrap_or_else(Span::none)
    }

    /// The task started on `worker_id` (again, when retried).
    pub fn started(&self, task_id: &str, worker_id: &str) {
        self.get(task_id).record("worker_id", worker_id);
    }

    /// The task ended with `status`: the span closes.
    pub fn close(&self, task_id: &str, status: &str) {
        if let Some(span) = self.open.borrow_mut().remove(task_id) {
            span.record("status", status);
        }
    }
}
