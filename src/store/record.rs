//! A final task as the store keeps it. Its own type, not the API's `TaskView`, so that the
//! view (a JSON body clients read) can change without breaking data directories written
//! before: the field names here are the on-disk format and must only ever be added to,
//! with defaults for data that lacks them.

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;
use crate::tasks::{ErrorBody, RawJson, Status, TaskView, Timings};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredView {
    task_id: String,
    status: Status,
    label: String,
    task_type: String,
    /// Absent before tenants, and for the anonymous tenant.
    #[serde(default = "anonymous", skip_serializing_if = "is_anonymous")]
    tenant: String,
    worker: Option<String>,
    label_miss: bool,
    attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<RawJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<StoredError>,
    timings: StoredTimings,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredError {
    /// The stable code as text; a code this build does not know reads as `internal`.
    code: String,
    message: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredTimings {
    queue_ms: u64,
    load_ms: u64,
    run_ms: u64,
    total_ms: u64,
}

fn anonymous() -> String {
    crate::tasks::ANONYMOUS.to_owned()
}

fn is_anonymous(tenant: &str) -> bool {
    tenant == crate::tasks::ANONYMOUS
}

impl From<&TaskView> for StoredView {
    fn from(view: &TaskView) -> Self {
        Self {
            task_id: view.task_id.clone(),
            status: view.status,
            label: view.label.clone(),
            task_type: view.task_type.clone(),
            tenant: view.tenant.clone(),
            worker: view.worker.clone(),
            label_miss: view.label_miss,
            attempts: view.attempts,
            result: view.result.clone(),
            error: view.error.as_ref().map(|e| StoredError {
                code: e.code.as_str().to_owned(),
                message: e.message.clone(),
            }),
            timings: StoredTimings {
                queue_ms: view.timings.queue_ms,
                load_ms: view.timings.load_ms,
                run_ms: view.timings.run_ms,
                total_ms: view.timings.total_ms,
            },
        }
    }
}

impl From<StoredView> for TaskView {
    fn from(stored: StoredView) -> Self {
        Self {
            task_id: stored.task_id,
            status: stored.status,
            label: stored.label,
            task_type: stored.task_type,
            tenant: stored.tenant,
            worker: stored.worker,
            label_miss: stored.label_miss,
            attempts: stored.attempts,
            result: stored.result,
            error: stored.error.map(|e| ErrorBody {
                code: serde_json::from_value(serde_json::Value::String(e.code))
                    .unwrap_or(ErrorCode::Internal),
                message: e.message,
            }),
            timings: Timings {
                queue_ms: stored.timings.queue_ms,
                load_ms: stored.timings.load_ms,
                run_ms: stored.timings.run_ms,
                total_ms: stored.timings.total_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the store of 2026-12-02 wrote for a failed task, read back as a view.
    #[test]
    fn a_record_written_before_reads_back_and_an_unknown_code_is_internal() {
        let written = r#"{"task_id":"late-1","status":"failed","label":"label-4","task_type":"sample_task_1","worker":null,"label_miss":false,"attempts":1,"error":{"code":"deadline_exceeded","message":"the task's deadline passed while it was running"},"timings":{"queue_ms":0,"load_ms":0,"run_ms":0,"total_ms":335}}"#;
        let view = TaskView::from(serde_json::from_str::<StoredView>(written).unwrap());
        assert_eq!(
            view.error.as_ref().unwrap().code,
            ErrorCode::DeadlineExceeded
        );
        assert_eq!(
            serde_json::to_string(&StoredView::from(&view)).unwrap(),
            written
        );
        let unknown = written.replace("deadline_exceeded", "from_a_later_release");
        let view = TaskView::from(serde_json::from_str::<StoredView>(&unknown).unwrap());
        assert_eq!(view.error.unwrap().code, ErrorCode::Internal);
    }
}
