//! The HTTP API: `configure` mounts every route; a file per resource; handlers decode,
//! call an actor, and convert the answer. Nothing here decides anything.

mod body;
pub mod edge;
pub mod error;
mod metrics;
mod models;
mod ready;
mod state;
mod tasks;
mod worker_listen;
mod workers;

use actix_web::web;

pub use error::ApiError;
pub use state::AppState;
pub use tasks::decode_task;

/// Mounts every route. Each path is one `web::resource` holding all its methods, so a
/// method it lacks gets 405 with `Allow` (a path added with `cfg.route` gets 405 without
/// `Allow`); `edge` gives unknown paths 404 and every error its JSON shape.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(edge::extractor_errors);
    cfg.service(web::resource("/health").get(workers::health))
        .service(web::resource("/health/ready").get(ready::ready))
        .service(web::resource("/workers").get(workers::list_workers))
        .service(web::resource("/labels").get(workers::list_labels))
        .service(web::resource("/labels/stats").get(workers::label_stats))
        .service(web::resource("/logs").get(workers::recent_logs))
        .service(web::resource("/metrics").get(metrics::metrics))
        .service(web::resource("/models").get(models::list_models))
        .service(web::resource("/upload-model").post(models::upload_model))
        .service(web::resource("/run-task").post(tasks::run_task))
        .service(web::resource("/send-task").post(tasks::send_task))
        .service(
            web::resource("/tasks/{task_id}")
                .get(tasks::get_task)
                .delete(tasks::cancel_task),
        )
        .service(web::resource("/worker-listen").get(worker_listen::worker_listen));
}
