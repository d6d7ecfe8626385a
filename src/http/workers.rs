//! Read-side endpoints answered by the label registry and the log sink: `/health`,
//! `/workers`, `/labels`, `/labels/stats`, `/logs` (the event log's tail, read from disk by the log sink).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState};
use crate::actors::messages::{GetLabelStats, ListLabels, ListWorkers, RecentRecords};

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": "OK" }))
}

pub async fn list_workers(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let workers = state.registry.send(ListWorkers).await?;
    Ok(HttpResponse::Ok().json(json!({ "workers": workers })))
}

pub async fn list_labels(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.send(ListLabels).await?))
}

pub async fn label_stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.send(GetLabelStats).await?))
}

/// Most records `GET /logs` returns; a larger `limit` is cut to this.
pub const MAX_LOGS_LIMIT: usize = 1000;

#[derive(Deserialize)]
pub struct LogsQuery {
    limit: Option<usize>,
}

pub async fn recent_logs(
    query: web::Query<LogsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100).min(MAX_LOGS_LIMIT);
    let records = state.log.send(RecentRecords { limit }).await?;
    Ok(HttpResponse::Ok().json(json!({ "records": records })))
}
