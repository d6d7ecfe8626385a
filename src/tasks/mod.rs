//! Tasks as clients see them (`TaskView` and what it holds) and the dispatcher's table of
//! them (`table`), which owns every status change. Plain data; depends on the routing
//! core's task key and the error codes only.

pub mod stream;
mod table;

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;

pub use table::{ChunkSeen, Ending, FinishedTotals, NewRecord, Ran, TaskRecord, TaskTable};

/// The tenant of requests authorized by `client_token`, or of every request when no
/// client token is configured.
pub const ANONYMOUS: &str = "anonymous";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

/// A worker's result: JSON text checked once to be one valid JSON value (without building
/// a tree of it), and written into responses as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

impl RawJson {
    /// Checks `text` is JSON; reuses its allocation when it has no surrounding whitespace.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(RawJson)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// An error as clients see it: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Timings {
    /// From submission to the start of its last attempt on a worker.
    pub queue_ms: u64,
    pub load_ms: u64,
    pub run_ms: u64,
    /// From submission to the final result.
    pub total_ms: u64,
}

/// A task as `GET /tasks/{id}` and `/run-task` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskView {
    pub task_id: String,
    pub status: Status,
    pub label: String,
    pub task_type: String,
    /// The tenant that submitted it (`anonymous` without tenants).
    pub tenant: String,
    pub worker: Option<String>,
    pub label_miss: bool,
    pub attempts: u32,
    /// The worker's result (any JSON), once completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<RawJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    pub timings: Timings,
}
