//! The HTTP API: `configure` mounts every route; a file per resource; handlers decode,
//! call an actor, and convert the answer. Nothing here decides anything. Every route is
//! described in `openapi` (served at `/openapi.json`); `ROUTES` lists them for its test.

pub(crate) mod body;
mod dashboard;
pub mod edge;
pub mod error;
mod metrics;
mod models;
pub mod openapi;
mod ready;
mod state;
mod tasks;
mod worker_listen;
mod workers;

use actix_web::web;

pub use error::ApiError;
pub(crate) use models::install_files;
pub use state::AppState;
pub use tasks::decode_task;

/// Every API route as (path, method), the Open Inference Protocol's `/v2` routes
/// (`oip::configure`) included; `openapi`'s test checks each is described.
pub const ROUTES: &[(&str, &str)] = &[
    ("/health", "GET"),
    ("/health/ready", "GET"),
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
    ("/v2", "GET"),
    ("/v2/health/live", "GET"),
    ("/v2/health/ready", "GET"),
    ("/v2/models/{model}", "GET"),
    ("/v2/models/{model}/ready", "GET"),
    ("/v2/models/{model}/infer", "POST"),
    ("/v2/models/{model}/versions/{version}", "GET"),
    ("/v2/models/{model}/versions/{version}/ready", "GET"),
    ("/v2/models/{model}/versions/{version}/infer", "POST"),
    ("/v2/repository/index", "POST"),
    ("/v2/repository/models/{model}/load", "POST"),
    ("/v2/repository/models/{model}/unload", "POST"),
];

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
        .service(web::resource("/worker-listen").get(worker_listen::worker_listen))
        .service(web::resource("/").get(dashboard::page))
        .service(web::resource("/dashboard").get(dashboard::page_alias))
        .service(web::resource("/dashboard/state").get(dashboard::state))
        .service(web::resource("/dashboard/app.js").get(dashboard::script))
        .service(web::resource("/dashboard/style.css").get(dashboard::style))
        .service(web::resource("/openapi.json").get(openapi::openapi_json))
        .service(web::resource("/docs").get(openapi::docs))
        .service(web::resource("/docs/app.js").get(openapi::docs_js));
    cfg.configure(crate::oip::configure);
}
