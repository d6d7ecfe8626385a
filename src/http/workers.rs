//! Read-side endpoints answered by the label registry, the dispatcher and the log sink:
//! `/health`, `/workers`, `/workers/health`, `/labels`, `/labels/stats`, `/logs` (the
//! event log's tail, read from disk by the log sink).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::schema::ErrorResponse;
use crate::actors::board::WorkersHealth;
use crate::actors::messages::{
    GetLabelStats, GetWorkerHealth, ListLabels, ListWorkers, RecentRecords,
};
use crate::actors::registry::LabelStats;
use crate::app::{ApiError, AppState};

/// `{"message": "OK"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    pub(super) message: String,
}

/// Connected worker ids, in order of joining.
#[derive(Serialize, utoipa::ToSchema)]
struct WorkerList {
    workers: Vec<String>,
}

/// The latest event-log records, newest last.
#[derive(Serialize, utoipa::ToSchema)]
struct LogRecords {
    #[schema(value_type = Vec<Object>)]
    records: Vec<serde_json::Value>,
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "pool",
    responses((status = 200, description = "The server is up", body = Health))
)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        message: "OK".to_owned(),
    })
}

#[utoipa::path(
    get,
    path = "/workers",
    tag = "pool",
    responses(
        (status = 200, description = "Connected workers", body = WorkerList),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn list_workers(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let workers = state.registry.send(ListWorkers).await?;
    Ok(HttpResponse::Ok().json(WorkerList { workers }))
}

#[utoipa::path(
    get,
    path = "/workers/health",
    tag = "pool",
    responses(
        (status = 200, description = "Each connected worker's health: healthy, ejected (its failures stood out) or probing", body = WorkersHealth),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn workers_health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let health = state.dispatcher.send(GetWorkerHealth).await?;
    Ok(HttpResponse::Ok().json(health))
}

#[utoipa::path(
    get,
    path = "/labels",
    tag = "pool",
    responses(
        (status = 200, description = "Each known label and the workers holding or loading it", body = std::collections::BTreeMap<String, Vec<String>>),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn list_labels(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.send(ListLabels).await?))
}

#[utoipa::path(
    get,
    path = "/labels/stats",
    tag = "pool",
    responses(
        (status = 200, description = "Per-label counts since start, and the copies planned (`target_copies`), held (`copies`) and the demand (`demand`) now", body = std::collections::BTreeMap<String, LabelStats>),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn label_stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.send(GetLabelStats).await?))
}

/// Most records `GET /logs` returns; a larger `limit` is cut to this.
pub const MAX_LOGS_LIMIT: usize = 1000;

#[derive(Deserialize)]
pub struct LogsQuery {
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/logs",
    tag = "pool",
    params(("limit" = Option<u32>, Query, description = "How many records (default 100, at most 1000)")),
    responses(
        (status = 200, description = "The latest records", body = LogRecords),
        (status = 422, description = "Invalid query string (`invalid_field`)", body = ErrorResponse),
        (status = 500, description = "Internal error", body = ErrorResponse),
    )
)]
pub async fn recent_logs(
    query: web::Query<LogsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100).min(MAX_LOGS_LIMIT);
    let records = state.log.send(RecentRecords { limit }).await?;
    Ok(HttpResponse::Ok().json(LogRecords { records }))
}
