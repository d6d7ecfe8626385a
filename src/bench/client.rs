//! The HTTP contract of `POST /run-task` as the load generator sees it, and how an
//! answer is classified. Written against the documented contract, not the server's code.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of `POST /run-task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTaskRequest {
    pub task_id: String,
    pub task_type: String,
    pub label: String,
    pub parameters_json: String,
}

/// Where the time of a task went, as the server measured it (milliseconds, scaled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Timings {
    pub queue_ms: u64,
    pub load_ms: u64,
    pub run_ms: u64,
    pub total_ms: u64,
}

/// `{"code": ..., "message": ...}` of a failed task or an API error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// The answer of `POST /run-task` (200 completed, 502 failed); unknown fields ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RunTaskResponse {
    pub task_id: String,
    pub status: String,
    pub result: Option<Value>,
    pub worker: Option<String>,
    pub label_miss: bool,
    pub timings: Option<Timings>,
    pub error: Option<ErrorBody>,
}

/// What one request came to.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskReply {
    /// The task ran; times in the server's (scaled) seconds.
    Completed {
        label_miss: bool,
        load_s: f64,
        run_s: f64,
    },
    /// The task was dispatched and failed (HTTP 502, status `failed`).
    Failed { label_miss: bool, error: String },
    /// Any other answer: refused, malformed, or not a completed task.
    Refused { status: u16, error: String },
    /// No HTTP answer at all (connection refused or reset, timeout).
    Unreachable { error: String },
}

impl TaskReply {
    pub fn label_miss(&self) -> bool {
        matches!(
            self,
            TaskReply::Completed {
                label_miss: true,
                ..
            } | TaskReply::Failed {
                label_miss: true,
                ..
            }
        )
    }

    /// A one-line description of a reply that is not a completed task.
    pub fn error(&self) -> Option<&str> {
        match self {
            TaskReply::Completed { .. } => None,
            TaskReply::Failed { error, .. }
            | TaskReply::Refused { error, .. }
            | TaskReply::Unreachable { error } => Some(error),
        }
    }
}

fn describe(error: Option<&ErrorBody>, fallback: &str) -> String {
    match error {
        Some(e) if !e.code.is_empty() => format!("{}: {}", e.code, e.message),
        _ => fallback.to_owned(),
    }
}

/// Classifies an HTTP answer to `POST /run-task` by its status code and body.
pub fn classify(status: u16, body: &[u8]) -> TaskReply {
    let parsed: Option<RunTaskResponse> = serde_json::from_slice(body).ok();
    match (status, parsed) {
        (200..=299, Some(r)) if r.status == "completed" => {
            let t = r.timings.unwrap_or_default();
            TaskReply::Completed {
                label_miss: r.label_miss,
                load_s: t.load_ms as f64 / 1000.0,
                run_s: t.run_ms as f64 / 1000.0,
            }
        }
        (502, Some(r)) if r.status == "failed" => TaskReply::Failed {
            label_miss: r.label_miss,
            error: describe(r.error.as_ref(), "task failed"),
        },
        (status, parsed) => {
            // API errors are `{"error": {"code", "message"}}`, which parses with an
            // empty status.
            let error = match parsed {
                Some(r) if r.error.is_some() => describe(r.error.as_ref(), ""),
                Some(r) if (200..=299).contains(&status) => {
                    format!("unexpected task status '{}'", r.status)
                }
                _ => format!("HTTP {status}"),
            };
            TaskReply::Refused { status, error }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_tasks_carry_miss_and_worker_times() {
        let body = br#"{"task_id":"t1","status":"completed","result":{"x":1},"worker":"w-1",
            "label_miss":true,"timings":{"queue_ms":5,"load_ms":200,"run_ms":100,"total_ms":305}}"#;
        assert_eq!(
            classify(200, body),
            TaskReply::Completed {
                label_miss: true,
                load_s: 0.2,
                run_s: 0.1
            }
        );
    }

    #[test]
    fn failures_and_refusals_are_told_apart() {
        let failed = br#"{"task_id":"t1","status":"failed","label_miss":false,
            "error":{"code":"worker_lost","message":"gone"}}"#;
        assert_eq!(
            classify(502, failed),
            TaskReply::Failed {
                label_miss: false,
                error: "worker_lost: gone".into()
            }
        );
        let api = br#"{"error":{"code":"queue_full","message":"try later"}}"#;
        assert_eq!(
            classify(429, api),
            TaskReply::Refused {
                status: 429,
                error: "queue_full: try later".into()
            }
        );
        assert_eq!(
            classify(500, b"oops"),
            TaskReply::Refused {
                status: 500,
                error: "HTTP 500".into()
            }
        );
        let odd = br#"{"task_id":"t1","status":"running"}"#;
        assert!(matches!(
            classify(200, odd),
            TaskReply::Refused { status: 200, .. }
        ));
    }

    #[test]
    fn the_request_body_has_the_documented_fields() {
        let body = serde_json::to_value(RunTaskRequest {
            task_id: "b-1".into(),
            task_type: "sample_task_1".into(),
            label: "label-3".into(),
            parameters_json: "{}".into(),
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"task_id": "b-1", "task_type": "sample_task_1",
                "label": "label-3", "parameters_json": "{}"})
        );
    }
}
