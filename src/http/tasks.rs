//! `/run-task`, `/send-task` and `/tasks/{id}`: submit, wait, read and cancel tasks.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{body, ApiError, AppState};
use crate::actors::messages::{CancelTask, GetTask, NewTask, SubmitTask};
use crate::tasks::{Status, TaskView};

/// The submission body, as the original API defines it.
#[derive(Debug, Deserialize)]
struct TaskBody {
    task_id: String,
    task_type: String,
    label: String,
    /// A string holding JSON: the task's parameters.
    parameters_json: String,
    /// Optional: give up if the task has not finished this many milliseconds after
    /// submission (504).
    #[serde(default)]
    deadline_ms: Option<u64>,
}

fn validate(body: TaskBody, max_len: usize) -> Result<NewTask, ApiError> {
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
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&body.parameters_json) {
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
    Ok(NewTask {
        task_id: body.task_id,
        task_type: body.task_type,
        label: body.label,
        parameters_json: body.parameters_json,
        deadline: body.deadline_ms.map(Duration::from_millis),
    })
}

async fn submit(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    wait: bool,
) -> Result<crate::actors::messages::Submitted, ApiError> {
    AppState::authorize(req, &state.config.client_token)?;
    if state.is_draining() {
        return Err(ApiError::shutting_down("the server is shutting down"));
    }
    let bytes = body::read(req, payload, state.config.max_body_bytes).await?;
    let task = validate(body::decode(&bytes)?, state.config.max_name_len)?;
    let submitted = state.dispatcher.send(SubmitTask { task, wait }).await??;
    // Accepted means stored: the answer waits for the commit. (`/run-task` answers only
    // with the final result, whose commit comes after this one.)
    if wait {
        return Ok(submitted);
    }
    if let Err(e) = state.committed().await {
        state.dispatcher.do_send(CancelTask {
            task_id: submitted.view.task_id.clone(),
        });
        return Err(e);
    }
    Ok(submitted)
}

/// The HTTP status for a task's final view.
fn final_status(view: &TaskView) -> StatusCode {
    match (view.status, view.error.as_ref().map(|e| e.code.as_str())) {
        (Status::Completed, _) => StatusCode::OK,
        (Status::Cancelled, _) => StatusCode::CONFLICT,
        (_, Some("deadline_exceeded")) => StatusCode::GATEWAY_TIMEOUT,
        (_, Some("no_capable_worker")) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// Cancels the task if the client goes away before its result is ready.
/// Not while the server drains: the client was cut off by the shutdown, and the task
/// stays for after the restart.
struct CancelOnDrop {
    task_id: Option<String>,
    dispatcher: actix::Addr<crate::actors::Dispatcher>,
    draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Some(task_id) = self.task_id.take() {
            tracing::info!(task_id = %task_id, "client went away; cancelling its task");
            self.dispatcher.do_send(CancelTask { task_id });
        }
    }
}

pub async fn run_task(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let submitted = submit(&req, payload, &state, true).await?;
    let mut guard = CancelOnDrop {
        task_id: Some(submitted.view.task_id.clone()),
        dispatcher: state.dispatcher.clone(),
        draining: state.draining.clone(),
    };
    let done = submitted
        .done
        .ok_or_else(|| ApiError::Internal("no result channel".into()))?;
    let Ok(view) = done.await else {
        guard.task_id = None;
        if state.is_draining() {
            state.committed().await?;
            return Err(ApiError::shutting_down(format!(
                "the server is shutting down; task '{}' is kept and runs after the restart",
                submitted.view.task_id
            )));
        }
        return Err(ApiError::Internal("the dispatcher dropped the task".into()));
    };
    guard.task_id = None;
    // The final result is queued for the store before waiters hear of it.
    state.committed().await?;
    Ok(HttpResponse::build(final_status(&view)).json(view))
}

pub async fn send_task(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let submitted = submit(&req, payload, &state, false).await?;
    Ok(HttpResponse::Accepted().json(json!({
        "task_id": submitted.view.task_id,
        "status": submitted.view.status,
    })))
}

/// The view, or 404 for an unknown id.
fn found(task_id: &str, view: Option<TaskView>) -> Result<HttpResponse, ApiError> {
    view.map(|view| HttpResponse::Ok().json(view))
        .ok_or_else(|| ApiError::NotFound(format!("no task '{task_id}'")))
}

pub async fn get_task(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    AppState::authorize(&req, &state.config.client_token)?;
    let task_id = path.into_inner();
    let view = state
        .dispatcher
        .send(GetTask {
            task_id: task_id.clone(),
        })
        .await?;
    found(&task_id, view)
}

pub async fn cancel_task(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    AppState::authorize(&req, &state.config.client_token)?;
    let task_id = path.into_inner();
    let view = state
        .dispatcher
        .send(CancelTask {
            task_id: task_id.clone(),
        })
        .await?;
    found(&task_id, view)
}
