//! The HTTP API: `configure` mounts every route; a file per resource; handlers decode,
//! call an actor, and convert the answer. Nothing here decides anything. Every route is
//! described in `openapi` (served at `/openapi.json`); `ROUTES` lists them for its test.

mod body;
mod dashboard;
pub mod error;
mod metrics;
mod models;
pub mod openapi;
mod state;
mod tasks;
mod worker_listen;
mod workers;

use actix_web::web;

pub use error::ApiError;
pub use state::AppState;

/// Every API route as (path, method); `openapi`'s test checks each is described.
pub const ROUTES: &[(&str, &str)] = &[
    ("/health", "GET"),
    ("/workers", "GET"),
    ("/labels", "GET"),
    ("/labels/stats", "GET"),
    ("/logs", "GET"),
    ("/metrics", "GET"),
    ("/models", "GET"),
    ("/upload-model", "POST"),
    ("/run-task", "POST"),
    ("/send-task", "POST"),
    ("/tasks/{task_id}", "GET"),
    ("/tasks/{task_id}", "DELETE"),
    ("/worker-listen", "GET"),
    ("/", "GET"),
    ("/dashboard", "GET"),
    ("/dashboard/state", "GET"),
    ("/dashboard/app.js", "GET"),
    ("/dashboard/style.css", "GET"),
    ("/openapi.json", "GET"),
    ("/docs", "GET"),
    ("/docs/app.js", "GET"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::Malformed(format!("invalid query string: {e}")).into()),
    )
    .route("/health", web::get().to(workers::health))
    .route("/workers", web::get().to(workers::list_workers))
    .route("/labels", web::get().to(workers::list_labels))
    .route("/labels/stats", web::get().to(workers::label_stats))
    .route("/logs", web::get().to(workers::recent_logs))
    .route("/metrics", web::get().to(metrics::metrics))
    .route("/models", web::get().to(models::list_models))
    .route("/upload-model", web::post().to(models::upload_model))
    .route("/run-task", web::post().to(tasks::run_task))
    .route("/send-task", web::post().to(tasks::send_task))
    .route("/tasks/{task_id}", web::get().to(tasks::get_task))
    .route("/tasks/{task_id}", web::delete().to(tasks::cancel_task))
    .route(
        "/worker-listen",
        web::get().to(worker_listen::worker_listen),
    )
    .route("/", web::get().to(dashboard::page))
    .route("/dashboard", web::get().to(dashboard::page_alias))
    .route("/dashboard/state", web::get().to(dashboard::state))
    .route("/dashboard/app.js", web::get().to(dashboard::script))
    .route("/dashboard/style.css", web::get().to(dashboard::style))
    .route("/openapi.json", web::get().to(openapi::openapi_json))
    .route("/docs", web::get().to(openapi::docs))
    .route("/docs/app.js", web::get().to(openapi::docs_js));
}
