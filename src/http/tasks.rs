//! `/run-task`, `/send-task` and `/tasks/{id}`: submit, wait, read and cancel tasks.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::schema::{ErrorResponse, TaskOrError};
use crate::actors::messages::{CancelTask, GetTask, NewTask};
use crate::app::submit::WaitError;
use crate::app::{self, body, ApiError, AppState};
use crate::config::Config;
use crate::error_code::ErrorCode;
use crate::tasks::{Status, TaskView};

/// The submission body, as the original API defines it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "task_id": "task-1",
    "task_type": "sample_task_1",
    "label": "label-1",
    "parameters_json": "{}"
}))]
pub struct TaskBody {
    /// Unique among queued and running tasks; no '/'.
    task_id: String,
    task_type: String,
    label: String,
    /// A string holding JSON: the task's parameters.
    parameters_json: String,
    /// Optional: give up if the task has not finished this many milliseconds after
    /// submission (504).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31_536_000_000_u64)]
    deadline_ms: Option<u64>,
}

/// `/send-task`'s answer: the task is queued.
#[derive(Serialize, utoipa::ToSchema)]
struct Accepted {
    task_id: String,
    status: Status,
}

fn validate(body: TaskBody, max_len: usize, max_deadline_ms: u64) -> Result<NewTask, ApiError> {
    for (field, value) in [
        ("task_id", &body.task_id),
        ("task_type", &body.task_type),
        ("label", &body.label),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::invalid(field, "must not be empty"));
        }
        if value.len() > max_len {
            return Err(ApiError::invalid(
                field,
                format!("longer than {max_len} bytes"),
            ));
        }
    }
    if body.task_id.contains('/') {
        return Err(ApiError::invalid("task_id", "must not contain '/'"));
    }
    if let Err(e) = serde_json::from_str::<body::AnyJson>(&body.parameters_json) {
        return Err(ApiError::invalid(
            "parameters_json",
            format!("is not JSON: {e}"),
        ));
    }
    if crate::engine::TASK_TYPES.contains(&body.task_type.as_str()) {
        // Refused here, before any worker is involved.
        crate::engine::parse_params(&body.task_type, &body.parameters_json)
            .map_err(|e| ApiError::invalid("parameters_json", e.to_string()))?;
    }
    if body.deadline_ms == Some(0) {
        return Err(ApiError::invalid("deadline_ms", "must be positive"));
    }
    if body.deadline_ms.is_some_and(|d| d > max_deadline_ms) {
        return Err(ApiError::invalid(
            "deadline_ms",
            format!("must be at most {max_deadline_ms}"),
        ));
    }
    Ok(NewTask {
        task_id: body.task_id,
        task_type: body.task_type,
        label: body.label,
        parameters_json: body.parameters_json,
        deadline: body.deadline_ms.map(Duration::from_millis),
        tenant: std::sync::Arc::from(crate::config::ANONYMOUS),
    })
}

/// Decodes and checks a submission body: the pure part of `/run-task` and `/send-task`
/// (also what the fuzz target drives).
pub fn decode_task(bytes: &[u8], config: &Config) -> Result<NewTask, ApiError> {
    let body: TaskBody = body::decode(bytes)?;
    let max_json_depth = config.api.max_json_depth;
    if body::nests_deeper_than(&body.parameters_json, max_json_depth) {
        return Err(ApiError::invalid(
            "parameters_json",
            format!("nests arrays/objects deeper than {max_json_depth} levels"),
        ));
    }
    validate(body, config.api.max_name_len, config.api.max_deadline_ms)
}

/// Checks the caller, then reads and decodes a submission.
async fn submission(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<NewTask, ApiError> {
    let tenant = state.clients.authorize(req)?;
    if state.is_draining() {
        return Err(ApiError::shutting_down("the server is shutting down"));
    }
    let bytes = body::read(req, payload, state.config.api.max_body_bytes).await?;
    let task = decode_task(&bytes, &state.config)?;
    Ok(NewTask { tenant, ..task })
}

/// Whether the client asks for Server-Sent Events (`Accept: text/event-stream`).
fn wants_events(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"))
}

/// The HTTP status for a task's final view.
fn final_status(view: &TaskView) -> StatusCode {
    let code = match (view.status, &view.error) {
        (Status::Completed, _) => return StatusCode::OK,
        (Status::Cancelled, _) => ErrorCode::Cancelled,
        (_, Some(error)) => error.code,
        (_, None) => ErrorCode::TaskFailed,
    };
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_GATEWAY)
}

#[utoipa::path(
    post,
    path = "/run-task",
    tag = "tasks",
    request_body = TaskBody,
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Completed: the final view with its result; with `Accept: text/event-stream`, Server-Sent Events instead: `event: chunk` with each chunk's JSON as the worker sends it, then `event: result` with the final view (completed or failed)", body = TaskView),
        (status = 400, description = "The body is not JSON", body = ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = ErrorResponse),
        (status = 404, description = "No connected worker can load the label (`unknown_label`)", body = ErrorResponse),
        (status = 408, description = "The body did not arrive within `body_timeout_s`", body = ErrorResponse),
        (status = 409, description = "The task was cancelled (final view), or its id is queued or running already (error)", body = TaskOrError),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "A field is missing or invalid", body = ErrorResponse),
        (status = 500, description = "Internal error", body = ErrorResponse),
        (status = 502, description = "Failed on the worker (final view)", body = TaskView),
        (status = 429, description = "The caller's tenant has `max_in_flight` tasks queued or running (`tenant_limit`, Retry-After)", body = ErrorResponse),
        (status = 503, description = "No worker accepts the task type, the queue is full, the deadline cannot be met (`deadline_unmeetable`), the server is draining (`shutting_down`) or the store cannot commit (error, Retry-After); or no capable worker remained (final view)", body = TaskOrError),
        (status = 504, description = "The deadline passed (final view)", body = TaskView),
    )
)]
pub async fn run_task(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let task = submission(&req, payload, &state).await?;
    if wants_events(&req) {
        let framing = app::submit::Framing::task_events();
        let events = app::submit::submit_streaming(state, task, framing).await?;
        return Ok(app::submit::event_stream(events));
    }
    let view = match app::submit::submit_and_wait(&state, task).await {
        Ok(view) => view,
        Err(WaitError::Api(e)) => return Err(e),
        Err(WaitError::ShuttingDown { task_id }) => {
            return Err(ApiError::shutting_down(format!(
                "the server is shutting down; task '{task_id}' is kept and runs after the restart"
            )))
        }
        Err(WaitError::Dropped) => {
            return Err(ApiError::internal("the dispatcher dropped the task"))
        }
    };
    Ok(HttpResponse::build(final_status(&view)).json(view))
}

#[utoipa::path(
    post,
    path = "/send-task",
    tag = "tasks",
    request_body = TaskBody,
    security((), ("bearer" = [])),
    responses(
        (status = 202, description = "Queued; poll GET /tasks/{task_id}", body = Accepted),
        (status = 400, description = "The body is not JSON", body = ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = ErrorResponse),
        (status = 404, description = "No connected worker can load the label (`unknown_label`)", body = ErrorResponse),
        (status = 408, description = "The body did not arrive within `body_timeout_s`", body = ErrorResponse),
        (status = 409, description = "The id is queued or running already", body = ErrorResponse),
        (status = 413, description = "Body too large", body = ErrorResponse),
        (status = 422, description = "A field is missing or invalid", body = ErrorResponse),
        (status = 500, description = "Internal error", body = ErrorResponse),
        (status = 429, description = "The caller's tenant has `max_in_flight` tasks queued or running (`tenant_limit`, Retry-After)", body = ErrorResponse),
        (status = 503, description = "No worker accepts the task type, the queue is full, the deadline cannot be met (`deadline_unmeetable`), the server is draining (`shutting_down`) or the store cannot commit (Retry-After)", body = ErrorResponse),
    )
)]
pub async fn send_task(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let task = submission(&req, payload, &state).await?;
    let submitted = app::submit::submit(&state, task, false).await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        task_id: submitted.view.task_id,
        status: submitted.view.status,
    }))
}

/// The view, or 404 for an unknown id.
fn found(task_id: &str, view: Option<TaskView>) -> Result<HttpResponse, ApiError> {
    view.map(|view| HttpResponse::Ok().json(view))
        .ok_or_else(|| ApiError::not_found(format!("no task '{task_id}'")))
}

#[utoipa::path(
    get,
    path = "/tasks/{task_id}",
    tag = "tasks",
    params(("task_id" = String, Path, description = "The id given at submission")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The task's current view", body = TaskView),
        (status = 401, description = "Missing or wrong client token", body = ErrorResponse),
        (status = 404, description = "No such task of the caller's tenant (or its retention ran out)", body = ErrorResponse),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn get_task(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let tenant = state.clients.authorize(&req)?;
    let task_id = path.into_inner();
    let view = state
        .dispatcher
        .send(GetTask {
            task_id: task_id.clone(),
            tenant: Some(tenant),
        })
        .await?;
    found(&task_id, view)
}

#[utoipa::path(
    delete,
    path = "/tasks/{task_id}",
    tag = "tasks",
    params(("task_id" = String, Path, description = "The id given at submission")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled, or already final: its view", body = TaskView),
        (status = 401, description = "Missing or wrong client token", body = ErrorResponse),
        (status = 404, description = "No such task of the caller's tenant", body = ErrorResponse),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn cancel_task(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let tenant = state.clients.authorize(&req)?;
    let task_id = path.into_inner();
    let view = state
        .dispatcher
        .send(CancelTask {
            task_id: task_id.clone(),
            tenant: Some(tenant),
        })
        .await?;
    found(&task_id, view)
}
