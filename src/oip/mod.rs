//! The Open Inference Protocol (KServe v2, as Triton speaks it) over the dispatcher: model
//! name = label, so every request gets the same label-aware placement as `/run-task`.
//! `rest` mounts `/v2`; `infer` is the core both transports share; `codec` the REST wire
//! format (JSON and Triton's binary tensor extension); `repository` the repository extension;
//! `grpc_stream` Triton's streaming gRPC call, `grpc_generate` its tensors for generate models.
//!
//! Depends on `app` (the services, authorization, submitting and installing); never on
//! `http` or `server`.

pub(crate) mod codec;
pub mod error;
pub mod generate;
pub mod grpc;
pub mod grpc_generate;
pub mod grpc_stream;
pub mod infer;
pub mod models;
pub mod repository;
pub mod responses;
pub mod rest;
pub mod tensor;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use actix_web::{web, HttpResponse};

use crate::app::AppState;
use crate::engine::ModelInfo;
pub use error::OipError;

/// The one version every model has.
pub const VERSION: &str = "1";

/// What the protocol's handlers reach: the application's services, and what it keeps
/// beside them: models unloaded through it, and models already described by ONNX Runtime.
pub struct OipState {
    pub app: web::Data<AppState>,
    unloaded: Mutex<HashSet<String>>,
    described: Mutex<HashMap<String, ModelInfo>>,
    /// Task ids of this process start with this, so they do not meet a client's.
    id_prefix: String,
    next_task: AtomicU64,
}

impl OipState {
    pub fn new(app: web::Data<AppState>) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self {
            app,
            unloaded: Mutex::default(),
            described: Mutex::default(),
            id_prefix: format!("v2-{started:x}-"),
            next_task: AtomicU64::new(1),
        }
    }

    pub fn is_ready(&self, model: &str) -> bool {
        !self
            .unloaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(model)
    }

    pub fn set_ready(&self, model: &str, ready: bool) {
        let mut unloaded = self.unloaded.lock().unwrap_or_else(PoisonError::into_inner);
        if ready {
            unloaded.remove(model);
        } else {
            unloaded.insert(model.to_owned());
        }
    }

    pub fn info(&self, model: &str) -> Option<ModelInfo> {
        self.described
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .cloned()
    }

    pub fn remember(&self, model: &str, info: ModelInfo) {
        self.described
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(model.to_owned(), info);
    }

    /// Its files changed: describe it again next time.
    pub fn forget(&self, model: &str) {
        self.described
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(model);
    }

    pub fn next_task_id(&self) -> String {
        let n = self.next_task.fetch_add(1, Ordering::Relaxed);
        format!("{}{n}", self.id_prefix)
    }
}

/// Every route of the protocol as (path, method); `server::openapi`'s test checks each is
/// described.
pub const ROUTES: &[(&str, &str)] = &[
    ("/v2", "GET"),
    ("/v2/health/live", "GET"),
    ("/v2/health/ready", "GET"),
    ("/v2/models/{model}", "GET"),
    ("/v2/models/{model}/ready", "GET"),
    ("/v2/models/{model}/infer", "POST"),
    ("/v2/models/{model}/generate", "POST"),
    ("/v2/models/{model}/generate_stream", "POST"),
    ("/v2/models/{model}/versions/{version}", "GET"),
    ("/v2/models/{model}/versions/{version}/ready", "GET"),
    ("/v2/models/{model}/versions/{version}/infer", "POST"),
    ("/v2/repository/index", "POST"),
    ("/v2/repository/models/{model}/load", "POST"),
    ("/v2/repository/models/{model}/unload", "POST"),
];

/// Mounts `/v2`; anything else under it answers in the protocol's error shape.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v2")
            .route("", web::get().to(rest::server_metadata))
            .route("/health/live", web::get().to(rest::live))
            .route("/health/ready", web::get().to(rest::ready))
            .route("/models/{model}", web::get().to(rest::model_metadata))
            .route("/models/{model}/ready", web::get().to(rest::model_ready))
            .route("/models/{model}/infer", web::post().to(rest::model_infer))
            .route(
                "/models/{model}/generate",
                web::post().to(generate::generate),
            )
            .route(
                "/models/{model}/generate_stream",
                web::post().to(generate::generate_stream),
            )
            .route(
                "/models/{model}/versions/{version}",
                web::get().to(rest::version_metadata),
            )
            .route(
                "/models/{model}/versions/{version}/ready",
                web::get().to(rest::version_ready),
            )
            .route(
                "/models/{model}/versions/{version}/infer",
                web::post().to(rest::version_infer),
            )
            .route("/repository/index", web::post().to(repository::index))
            .route(
                "/repository/models/{model}/load",
                web::post().to(repository::load),
            )
            .route(
                "/repository/models/{model}/unload",
                web::post().to(repository::unload),
            )
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    OipError::not_found(format!("no route {} {}", req.method(), req.path())).error_response()
}
