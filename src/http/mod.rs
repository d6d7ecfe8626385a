//! The HTTP API: `configure` mounts every route; a file per resource; handlers decode,
//! call the application layer (`crate::app`) or an actor, and convert the answer. Nothing
//! here decides anything. Every route is described in `/openapi.json`
//! (`crate::server::openapi`); `ROUTES` lists them for its test.
//!
//! Depends on `app` and the actors' messages; never on `oip` or `server`.

pub(crate) mod dashboard;
pub mod edge;
pub mod error;
pub(crate) mod metrics;
pub(crate) mod models;
pub(crate) mod ready;
pub mod schema;
pub(crate) mod tasks;
pub(crate) mod worker_listen;
pub(crate) mod workers;

use actix_web::web;

pub use error::ApiError;
pub use tasks::decode_task;

/// Every route of the HTTP API as (path, method); `server::openapi`'s test checks each is
/// described.
pub const ROUTES: &[(&str, &str)] = &[
    ("/health", "GET"),
    ("/health/ready", "GET"),
    ("/workers", "GET"),
    ("/workers/health", "GET"),
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
];

/// Mounts every route. Each path is one `web::resource` holding all its methods, so a
/// method it lacks gets 405 with `Allow` (a path added with `cfg.route` gets 405 without
/// `Allow`); `edge` gives unknown paths 404 and every error its JSON shape.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(edge::extractor_errors);
    cfg.service(web::resource("/health").get(workers::health))
        .service(web::resource("/health/ready").get(ready::ready))
        .service(web::resource("/workers").get(workers::list_workers))
        .service(web::resource("/workers/health").get(workers::workers_health))
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
        .service(web::resource("/worker-listen").get(worker_listen::worker_listen))
        .service(web::resource("/").get(dashboard::page))
        .service(web::resource("/dashboard").get(dashboard::page_alias))
        .service(web::resource("/dashboard/state").get(dashboard::state))
        .service(web::resource("/dashboard/app.js").get(dashboard::script))
        .service(web::resource("/dashboard/style.css").get(dashboard::style));
}
