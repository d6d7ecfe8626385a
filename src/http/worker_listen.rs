//! `GET /worker-listen`: the WebSocket upgrade for remote workers. Refuses before the
//! upgrade (400 without a usable `Worker-Id`, 401 without a worker token, 403 with the
//! token of another worker id, 409 when the id is connected already); the session actor takes it from there.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;

use crate::actors::log_limit::LogLimits;
use crate::actors::messages::IsConnected;
use crate::actors::WorkerSession;
use crate::app::{ApiError, AppState};
use crate::error_code::ErrorCode;

#[utoipa::path(
    get,
    path = "/worker-listen",
    tag = "workers",
    params(("Worker-Id" = String, Header, description = "The worker's unique id")),
    security((), ("bearer" = [])),
    responses(
        (status = 101, description = "WebSocket upgrade; protobuf frames follow (docs/protocol.md)"),
        (status = 400, description = "Missing or invalid Worker-Id, or not a WebSocket upgrade", body = super::schema::ErrorResponse),
        (status = 401, description = "Missing or wrong worker token", body = super::schema::ErrorResponse),
        (status = 403, description = "The token is another worker id's (`[worker_tokens]`)", body = super::schema::ErrorResponse),
        (status = 409, description = "A worker with this id is connected", body = super::schema::ErrorResponse),
        (status = 500, description = "Internal error", body = super::schema::ErrorResponse),
    )
)]
pub async fn worker_listen(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let worker_id = req
        .headers()
        .get("Worker-Id")
        .ok_or_else(|| ApiError::malformed("the Worker-Id header is required"))?
        .to_str()
        .map_err(|_| ApiError::malformed("the Worker-Id header must be visible ASCII"))?
        .trim()
        .to_owned();
    if worker_id.is_empty() || worker_id.len() > state.config.api.max_name_len {
        return Err(ApiError::malformed(format!(
            "the Worker-Id header must be 1..={} bytes",
            state.config.api.max_name_len
        )));
    }
    state.workers.authorize(&req, &worker_id)?;
    if state
        .registry
        .send(IsConnected {
            worker_id: worker_id.clone(),
        })
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("worker '{worker_id}' is already connected"),
        ));
    }
    let session = WorkerSession::new(
        state.next_conn(),
        worker_id,
        state.dispatcher.clone(),
        state.log.clone().recipient(),
        Duration::from_secs(state.config.workers.heartbeat_timeout_s),
        LogLimits {
            record_max_bytes: state.config.log.log_record_max_bytes,
            rate_per_s: state.config.workers.log_rate_per_worker,
        },
    )
    .with_register_timeout(Duration::from_secs(state.config.workers.register_timeout_s));
    ws::WsResponseBuilder::new(session, &req, stream)
        .frame_size(state.config.api.max_body_bytes)
        .start()
        .map_err(|e| ApiError::malformed(format!("websocket upgrade failed: {e}")))
}
