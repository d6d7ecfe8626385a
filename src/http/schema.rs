//! Bodies every part of the HTTP API shares, as `/openapi.json` describes them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::tasks::{ErrorBody, TaskView};

/// Every error: `{"error": {"code", "message"}}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// A task's final view, or an error refused before the task existed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TaskOrError {
    Task(TaskView),
    Error(ErrorResponse),
}
