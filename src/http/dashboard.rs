//! The dashboard: `GET /` (and `/dashboard`) serves one embedded page that polls
//! `GET /dashboard/state`, which joins the dispatcher's view of the pool, the registry's
//! labels and latencies, and the latest events. No asset comes from outside the binary.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::board::{LabelRow, WorkerLabels, WorkerLoad};
use crate::actors::messages::{GetLabelBoard, GetPool, RecentRecords};
use crate::app::{ApiError, AppState};
use crate::metrics::series::QueueSample;

const PAGE: &str = include_str!("assets/dashboard.html");
const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");

/// How many of the latest events the dashboard shows.
const EVENTS: usize = 30;
/// How many labels it lists: the busiest ones, so the page stays small with many labels.
const LABELS: usize = 50;

/// One worker: its slots, what it runs and which labels it holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerRow {
    #[serde(flatten)]
    pub load: WorkerLoad,
    #[serde(flatten)]
    pub labels: WorkerLabels,
}

/// Everything the dashboard shows, in one read.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardState {
    pub unix_ms: u64,
    pub workers: Vec<WorkerRow>,
    pub queued: usize,
    pub running: usize,
    /// Queue depth once a second over the last five minutes, oldest first.
    pub queue_history: Vec<QueueSample>,
    /// The busiest labels (most requests first), at most 50.
    pub labels: Vec<LabelRow>,
    /// How many labels there are in all.
    pub labels_total: usize,
    /// The latest records of the event log (`events.jsonl`), newest last.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
}

fn html(body: &'static str, content_type: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-cache"))
        .body(body)
}

#[utoipa::path(
    get,
    path = "/",
    tag = "observability",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String))
)]
pub async fn page() -> HttpResponse {
    html(PAGE, "text/html; charset=utf-8")
}

#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "observability",
    responses((status = 200, description = "The dashboard page (same as /)", content_type = "text/html", body = String))
)]
pub async fn page_alias() -> HttpResponse {
    page().await
}

#[utoipa::path(
    get,
    path = "/dashboard/app.js",
    tag = "observability",
    responses((status = 200, description = "The dashboard's script", content_type = "text/javascript", body = String))
)]
pub async fn script() -> HttpResponse {
    html(SCRIPT, "text/javascript; charset=utf-8")
}

#[utoipa::path(
    get,
    path = "/dashboard/style.css",
    tag = "observability",
    responses((status = 200, description = "The dashboard's style sheet", content_type = "text/css", body = String))
)]
pub async fn style() -> HttpResponse {
    html(STYLE, "text/css; charset=utf-8")
}

#[utoipa::path(
    get,
    path = "/dashboard/state",
    tag = "observability",
    responses(
        (status = 200, description = "The pool, the queue, per-label figures and the latest events", body = DashboardState),
        (status = 500, description = "Internal error", body = super::schema::ErrorResponse),
    )
)]
pub async fn state(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.dispatcher.send(GetPool).await?;
    let mut board = state.registry.send(GetLabelBoard).await?;
    let labels_total = board.labels.len();
    board
        .labels
        .sort_by(|a, b| b.requests.cmp(&a.requests).then(a.label.cmp(&b.label)));
    board.labels.truncate(LABELS);
    let events = state.log.send(RecentRecords { limit: EVENTS }).await?;
    let workers = pool
        .workers
        .into_iter()
        .map(|load| WorkerRow {
            labels: board.workers.remove(&load.worker_id).unwrap_or_default(),
            load,
        })
        .collect();
    Ok(HttpResponse::Ok().json(DashboardState {
        unix_ms: crate::clock::unix_ms(),
        workers,
        queued: pool.queued,
        running: pool.running,
        queue_history: pool.history,
        labels: board.labels,
        labels_total,
        events,
    }))
}
