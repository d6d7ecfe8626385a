//! The HTTP API: `configure` mounts every route; a file per resource; handlers decode,
//! call an actor, and convert the answer. Nothing here decides anything.

pub(crate) mod body;
pub mod error;
mod metrics;
mod models;
mod state;
mod tasks;
mod worker_listen;
mod workers;

use actix_web::web;

pub use error::ApiError;
pub(crate) use models::install_files;
pub use state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(workers::health))
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
        .configure(crate::oip::configure);
}
