//! `GET /metrics`: the Prometheus text exposition of [`crate::metrics::Metrics`], with
//! the pool's gauges read from the dispatcher and the registry at scrape time.

use actix_web::{web, HttpResponse};

use crate::actors::messages::{GetStats, ListLabels, ListWorkers};
use crate::app::{ApiError, AppState};
use crate::metrics::{PoolGauges, CONTENT_TYPE};

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "observability",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 500, description = "Internal error", body = super::schema::ErrorResponse),
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = state.dispatcher.send(GetStats).await?;
    let workers = state.registry.send(ListWorkers).await?.len();
    let labels = state.registry.send(ListLabels).await?;
    let labels_loaded = labels
        .values()
        .filter(|holders| !holders.is_empty())
        .count();
    let text = state
        .metrics
        .encode(PoolGauges {
            workers,
            queued: stats.queued,
            running: stats.running,
            labels_loaded,
            restored_waiting: stats.restored_waiting,
        })
        .map_err(|e| ApiError::internal(format!("cannot encode the metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}
