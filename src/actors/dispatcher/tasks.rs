//! The dispatcher's task messages: submissions, reads, cancels, and workers' results.

use std::time::Instant;

use actix::prelude::*;

use super::events::TaskEvent;
use super::Dispatcher;
use crate::actors::messages::*;
use crate::error_code::ErrorCode;
use crate::protocol::{FailureKind, TaskReport};
use crate::routing::{
    Action, Cancelled, Fault, Outcome, Reject, TaskKey, TaskSpec, Verdict, WorkerKey,
};
use crate::tasks::{Ending, ErrorBody, NewRecord, Ran, RawJson, TaskRecord};

/// The client-facing error of each way the routing core gives up on a task.
pub(super) fn reject_body(reason: &Reject) -> ErrorBody {
    let code = match reason {
        Reject::NoCapableWorker { .. } => ErrorCode::NoCapableWorker,
        Reject::DuplicateTask => ErrorCode::DuplicateTask,
        Reject::QueueFull { .. } => ErrorCode::QueueFull,
        Reject::DeadlineExceeded | Reject::DeadlineWhileRunning => ErrorCode::DeadlineExceeded,
        Reject::AttemptsExhausted { .. } => ErrorCode::WorkerLost,
        Reject::LoadFailed { .. } => ErrorCode::LoadFailed,
    };
    ErrorBody {
        code,
        message: reason.to_string(),
    }
}

/// Whose fault a failure the worker reported is; `None` for endings the dispatcher asked
/// for (a cancel, a deadline), which are final whatever the worker.
fn fault(failure: FailureKind) -> Option<Fault> {
    match failure {
        FailureKind::Failed => Some(Fault::Ambiguous),
        FailureKind::WorkerFault => Some(Fault::Worker),
        FailureKind::LoadFailed => Some(Fault::Load),
        FailureKind::DeadlineExceeded | FailureKind::Cancelled => None,
    }
}

/// The code of a failure the worker reported.
fn failure_code(failure: FailureKind) -> ErrorCode {
    match failure {
        FailureKind::Failed => ErrorCode::TaskFailed,
        FailureKind::DeadlineExceeded => ErrorCode::DeadlineExceeded,
        FailureKind::Cancelled => ErrorCode::Cancelled,
        FailureKind::LoadFailed => ErrorCode::LoadFailed,
        FailureKind::WorkerFault => ErrorCode::WorkerFault,
    }
}

/// How a worker's report ends its task.
fn ending(report: TaskReport) -> Ending {
    let ran = Ran {
        label_miss: report.label_miss,
        load_ms: report.load_ms,
        run_ms: report.run_ms,
    };
    let error = |code, message| Ending::Failed {
        error: ErrorBody { code, message },
        ran: Some(ran),
    };
    match report.outcome {
        Ok(json) => match RawJson::parse(json) {
            Ok(result) => Ending::Completed { result, ran },
            Err(e) => error(
                ErrorCode::InvalidResult,
                format!("the worker's result is not JSON: {e}"),
            ),
        },
        Err(message) => error(failure_code(report.failure), message),
    }
}

/// Whether a client of `tenant` may read or cancel the task: a tenant sees its own.
fn tenant_sees(tenant: &Option<std::sync::Arc<str>>, view: &crate::tasks::TaskView) -> bool {
    tenant.as_deref().is_none_or(|t| t == view.tenant)
}

impl Dispatcher {
    fn finish_report(&mut self, worker: WorkerKey, report: TaskReport) -> Result<(), String> {
        let _task = self.spans.get(&report.task_id).entered();
        let key = self
            .tasks
            .key_of(&report.task_id)
            .ok_or_else(|| format!("result for unknown task '{}'", report.task_id))?;
        let outcome = Outcome {
            load_s: report.label_miss.then_some(report.load_ms as f64 / 1000.0),
            run_s: report.run_ms as f64 / 1000.0,
        };
        let now_s = self.now();
        if let Some(actions) = self.scheduler.release_abandoned(worker, key, now_s) {
            // Taken off this worker (deadline, run-time limit): the task is final or elsewhere.
            self.metrics.result_dropped();
            self.apply(actions);
            return Ok(());
        }
        if let (Err(_), Some(fault)) = (&report.outcome, fault(report.failure)) {
            self.failed_attempt(worker, key, report, fault, now_s);
            return Ok(());
        }
        let Ok(actions) = self.scheduler.task_finished(worker, key, outcome, now_s) else {
            // Given to another worker since (or already answered): not a breach.
            tracing::info!(task_id = %report.task_id, "result for a task this worker no longer runs; dropped");
            self.metrics.result_dropped();
            return Ok(());
        };
        let (label_miss, load_ms, run_ms) = (report.label_miss, report.load_ms, report.run_ms);
        if let Some(view) = self.tasks.finish(key, Instant::now(), ending(report)) {
            let event = match view.status {
                crate::tasks::Status::Completed => TaskEvent::Completed,
                _ => TaskEvent::Failed,
            };
            self.task_event(event, &view);
            self.registry.do_send(LabelStatsRecorded {
                label: view.label.clone(),
                label_miss,
                load_ms,
                run_ms,
            });
        } else {
            // Already final (cancelled, deadline passed): its slot is free now.
            self.metrics.result_dropped();
        }
        self.apply(actions);
        Ok(())
    }

    /// A failed attempt the routing core judges: run again elsewhere (a failed load, an
    /// unexplained failure within the retry budget, the worker's own fault), or final.
    fn failed_attempt(
        &mut self,
        worker: WorkerKey,
        key: TaskKey,
        report: TaskReport,
        fault: Fault,
        now_s: f64,
    ) {
        let Ok((mut actions, verdict)) = self.scheduler.task_failed(worker, key, fault, now_s)
        else {
            tracing::info!(task_id = %report.task_id, "failure for a task this worker no longer runs; dropped");
            self.metrics.result_dropped();
            return;
        };
        if fault == Fault::Load && verdict == Verdict::Failed {
            // No worker can load the label: fail the task with the last worker's own error.
            let at = actions
                .iter()
                .position(|a| matches!(a, Action::Fail { task, .. } if *task == key));
            if let Some(Action::Fail { reason, .. }) = at.map(|at| actions.remove(at)) {
                let mut error = reject_body(&reason);
                let worker_error = report.outcome.clone().err().unwrap_or_default();
                error.message = format!("{}; the last worker said: {worker_error}", error.message);
                let ending = Ending::Failed { error, ran: None };
                if let Some(view) = self.tasks.finish(key, Instant::now(), ending) {
                    self.task_event(TaskEvent::Failed, &view);
                }
            }
        } else if verdict == Verdict::Retried {
            let error = ErrorBody {
                code: failure_code(report.failure),
                message: report.outcome.err().unwrap_or_default(),
            };
            self.tasks.requeue(key);
            let streamed = self.tasks.get_key(key).is_some_and(|r| r.streamed() > 0);
            if streamed {
                // Its client has chunks of this attempt: it ends with the worker's error.
                self.apply(actions);
                self.end_task(key, error.code, error.message);
                return;
            }
            if let Some(record) = self.tasks.get_key(key) {
                tracing::warn!(task_id = %report.task_id, code = error.code.as_str(), "attempt failed; the task runs again elsewhere");
                self.task_retried(record.view(), worker, &error);
            }
        } else {
            let (label_miss, load_ms, run_ms) = (report.label_miss, report.load_ms, report.run_ms);
            if let Some(view) = self.tasks.finish(key, Instant::now(), ending(report)) {
                self.task_event(TaskEvent::Failed, &view);
                self.registry.do_send(LabelStatsRecorded {
                    label: view.label.clone(),
                    label_miss,
                    load_ms,
                    run_ms,
                });
            }
        }
        self.apply(actions);
    }
}

impl Handler<SubmitTask> for Dispatcher {
    type Result = Result<Submitted, SubmitError>;

    fn handle(&mut self, msg: SubmitTask, _: &mut Context<Self>) -> Self::Result {
        let task = msg.task;
        if self.draining {
            return Err(SubmitError::ShuttingDown);
        }
        if self
            .tasks
            .get(&task.task_id)
            .is_some_and(|r| !r.view().status.is_final())
        {
            return Err(SubmitError::Duplicate(task.task_id));
        }
        if let Some(limit) = self.tenants.limit(&task.tenant) {
            if self.tasks.in_flight(&task.tenant) >= limit {
                self.metrics.tenant_limited(&task.tenant);
                return Err(SubmitError::TenantLimit {
                    tenant: task.tenant.to_string(),
                    limit,
                });
            }
        }
        self.admission.admit(&self.scheduler, &task, self.now())?;
        let span = self.spans.open(&task.task_id, &task.label, &task.task_type);
        let _task = span.enter();
        let now = Instant::now();
        let key = self.tasks.next_key();
        let spec = TaskSpec {
            key,
            label: task.label.clone(),
            task_type: task.task_type.clone(),
            deadline: task.deadline.map(|d| self.now() + d.as_secs_f64()),
            share: self.tenants.share(&task.tenant),
        };
        let mut record = TaskRecord::queued(
            key,
            NewRecord {
                task_id: task.task_id.clone(),
                task_type: task.task_type,
                label: task.label,
                tenant: task.tenant.to_string(),
                parameters_json: task.parameters_json,
                // Bounded at the edge; a deadline beyond what the clock can hold is none.
                deadline: task.deadline.and_then(|d| now.checked_add(d)),
                submitted: now,
                attempts: 0,
            },
        );
        let done = if msg.wait || msg.stream {
            let (tx, rx) = tokio::sync::oneshot::channel();
            record = record.with_waiter(tx);
            Some(rx)
        } else {
            None
        };
        let mut chunks = None;
        if msg.stream {
            let (sink, stream) = crate::tasks::stream::channel(self.stream_buffer_bytes);
            record = record.with_stream(sink);
            chunks = Some(stream);
        }
        self.tasks.insert(record);
        let now_s = self.now();
        match self.scheduler.submit(spec, now_s) {
            Ok(actions) => {
                if let Some(record) = self.tasks.get_key(key) {
                    self.task_event(TaskEvent::Submitted, record.view());
                    self.journal_accepted(record);
                }
                self.apply(actions);
                let view = self
                    .tasks
                    .get_key(key)
                    .map(|r| r.view().clone())
                    .ok_or_else(|| {
                        SubmitError::Duplicate(task.task_id.clone()) // unreachable: just inserted
                    })?;
                Ok(Submitted { view, done, chunks })
            }
            Err(reject) => {
                self.tasks.remove(key);
                self.spans.close(&task.task_id, "rejected");
                Err(match reject {
                    Reject::NoCapableWorker { task_type } => {
                        SubmitError::NoCapableWorker(task_type)
                    }
                    Reject::QueueFull { limit } => SubmitError::QueueFull(limit),
                    // Unreachable: duplicates are refused above, and submit refuses no other way.
                    _ => SubmitError::Duplicate(task.task_id),
                })
            }
        }
    }
}

impl Handler<GetTask> for Dispatcher {
    type Result = Option<crate::tasks::TaskView>;

    fn handle(&mut self, msg: GetTask, _: &mut Context<Self>) -> Self::Result {
        self.tasks
            .get(&msg.task_id)
            .filter(|r| tenant_sees(&msg.tenant, r.view()))
            .map(|r| r.view().clone())
    }
}

impl Handler<CancelTask> for Dispatcher {
    type Result = Option<crate::tasks::TaskView>;

    fn handle(&mut self, msg: CancelTask, _: &mut Context<Self>) -> Self::Result {
        let _task = self.spans.get(&msg.task_id).entered();
        let record = self
            .tasks
            .get(&msg.task_id)
            .filter(|r| tenant_sees(&msg.tenant, r.view()))?;
        if record.view().status.is_final() {
            return Some(record.view().clone());
        }
        let key = record.key();
        if let Cancelled::Running(action) = self.scheduler.cancel(key) {
            self.apply(vec![action]);
        }
        let view = self.tasks.finish(key, Instant::now(), Ending::Cancelled)?;
        self.task_event(TaskEvent::Cancelled, &view);
        Some(view)
    }
}

impl Handler<TaskFinished> for Dispatcher {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: TaskFinished, _: &mut Context<Self>) -> Self::Result {
        let task_id = msg.report.task_id.clone();
        let result = self
            .live(&msg.worker_id, msg.conn)
            .ok_or_else(|| "worker is not registered".to_owned())
            .and_then(|key| self.finish_report(key, msg.report));
        let Err(reason) = result else {
            return Ok(());
        };
        self.metrics.result_dropped();
        if self.live(&msg.worker_id, msg.conn).is_some() && self.tasks.key_of(&task_id).is_some() {
            // A late result (the task was cancelled, timed out or given to another worker):
            // dropped, and the worker stays connected.
            tracing::debug!(task_id = %task_id, worker_id = %msg.worker_id, %reason, "late result dropped");
            return Ok(());
        }
        Err(reason)
    }
}
