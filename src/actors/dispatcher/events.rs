//! What the dispatcher tells others, as typed records: each task event goes to the event
//! log (after the store's commit when it is final, so a crash cannot log a result twice),
//! and a final one also to the metrics, the registry's latency window and the task's
//! span; worker and label events go to the event log and the registry.

use serde::Serialize;

use super::Dispatcher;
use crate::actors::messages::{LabelPlaced, Placement, Record, TaskEnded};
use crate::clock::unix_ms;
use crate::metrics::status_name;
use crate::routing::{HealthState, LabelEventKind, WorkerKey};
use crate::tasks::{ErrorBody, Status, TaskView, Timings};

/// What happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) enum TaskEvent {
    #[serde(rename = "task_submitted")]
    Submitted,
    #[serde(rename = "task_started")]
    Started,
    #[serde(rename = "task_completed")]
    Completed,
    #[serde(rename = "task_failed")]
    Failed,
    #[serde(rename = "task_cancelled")]
    Cancelled,
}

/// One task event as the event log holds it (`bench`'s report and `simulate --trace`
/// read these).
#[derive(Serialize)]
struct TaskRecordLine<'a> {
    unix_ms: u64,
    event: TaskEvent,
    task_id: &'a str,
    worker_id: Option<&'a str>,
    label: &'a str,
    task_type: &'a str,
    tenant: &'a str,
    label_miss: bool,
    status: Status,
    attempts: u32,
    timings: &'a Timings,
    error: Option<&'a ErrorBody>,
}

/// What a worker event records beside its name.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum WorkerDetail<'a> {
    Joined {
        slots: u32,
        max_labels: u32,
        task_types: &'a [String],
        labels: &'a [String],
    },
    Left {
        reason: &'a str,
    },
    Label {
        label: &'a str,
    },
    Health {
        ejections: u32,
    },
}

/// A failed attempt whose task runs again elsewhere.
#[derive(Serialize)]
struct RetryRecordLine<'a> {
    unix_ms: u64,
    event: &'static str,
    task_id: &'a str,
    /// The worker the attempt failed on.
    worker_id: &'a str,
    label: &'a str,
    task_type: &'a str,
    tenant: &'a str,
    attempts: u32,
    error: &'a ErrorBody,
}

/// One worker event as the event log holds it.
#[derive(Serialize)]
struct WorkerRecordLine<'a> {
    unix_ms: u64,
    event: &'static str,
    worker_id: &'a str,
    detail: WorkerDetail<'a>,
}

/// A record for the log sink. Serializing these plain structs cannot fail.
fn record(line: &impl Serialize) -> Record {
    Record(serde_json::to_value(line).unwrap_or_default())
}

impl Dispatcher {
    pub(super) fn task_event(&self, event: TaskEvent, view: &TaskView) {
        if matches!(event, TaskEvent::Submitted) || view.status.is_final() {
            let in_flight = self.tasks.in_flight(&view.tenant);
            self.metrics.tenant_in_flight(&view.tenant, in_flight);
        }
        if view.status.is_final() {
            self.spans.close(&view.task_id, status_name(view.status));
            self.metrics.task_ended(view);
            self.registry.do_send(TaskEnded {
                label: view.label.clone(),
                completed: view.status == Status::Completed,
                latency_s: view.timings.total_ms as f64 / 1000.0,
            });
        }
        let line = record(&TaskRecordLine {
            unix_ms: unix_ms(),
            event,
            task_id: &view.task_id,
            worker_id: view.worker.as_deref(),
            label: &view.label,
            task_type: &view.task_type,
            tenant: &view.tenant,
            label_miss: view.label_miss,
            status: view.status,
            attempts: view.attempts,
            timings: &view.timings,
            error: view.error.as_ref(),
        });
        match &self.journal {
            // A final result is logged once stored, so a crash cannot log it twice.
            Some(journal) if view.status.is_final() => {
                let log = self.log.clone();
                journal.after_commit(move || log.do_send(line));
            }
            _ => self.log.do_send(line),
        }
    }

    /// A failed attempt of the task in `view` on `worker`: it waits to run elsewhere.
    pub(super) fn task_retried(&self, view: &TaskView, worker: WorkerKey, error: &ErrorBody) {
        self.metrics.task_retried();
        let worker_id = self.worker_ids.get(&worker).map_or("", String::as_str);
        self.log.do_send(record(&RetryRecordLine {
            unix_ms: unix_ms(),
            event: "task_retried",
            task_id: &view.task_id,
            worker_id,
            label: &view.label,
            task_type: &view.task_type,
            tenant: &view.tenant,
            attempts: view.attempts,
            error,
        }));
    }

    /// Publishes the workers' health changes since the last call: event log, metrics.
    pub(super) fn publish_health_events(&mut self) {
        for event in self.scheduler.take_health_events() {
            let Some(worker_id) = self.worker_ids.get(&event.worker).cloned() else {
                continue;
            };
            let name = match event.state {
                HealthState::Ejected => "worker_ejected",
                HealthState::Probing => "worker_probing",
                HealthState::Healthy => "worker_returned",
            };
            tracing::warn!(worker_id = %worker_id, ejections = event.ejections, event = name, "worker health changed");
            self.metrics
                .worker_ejected(&worker_id, event.state == HealthState::Ejected);
            self.worker_event(
                name,
                &worker_id,
                WorkerDetail::Health {
                    ejections: event.ejections,
                },
            );
        }
    }

    pub(super) fn worker_event(&self, event: &'static str, worker_id: &str, detail: WorkerDetail) {
        self.log.do_send(record(&WorkerRecordLine {
            unix_ms: unix_ms(),
            event,
            worker_id,
            detail,
        }));
    }

    /// Publishes the label moves the scheduler made since the last call.
    pub(super) fn publish_label_events(&mut self) {
        for event in self.scheduler.take_label_events() {
            let Some(worker_id) = self.worker_ids.get(&event.worker).cloned() else {
                continue;
            };
            let label = self.scheduler.label_name(event.label).to_owned();
            let (placement, name) = match event.kind {
                LabelEventKind::Loading => (Placement::Loading, "label_loading"),
                LabelEventKind::Loaded => (Placement::Loaded, "label_loaded"),
                LabelEventKind::Evicted => (Placement::Evicted, "label_evicted"),
            };
            tracing::debug!(worker_id = %worker_id, label = %label, event = name, "label moved");
            self.worker_event(name, &worker_id, WorkerDetail::Label { label: &label });
            self.registry.do_send(LabelPlaced {
                worker_id,
                label,
                placement,
            });
        }
    }
}
