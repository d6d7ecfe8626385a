//! `POST /upload-model` and `GET /models`: the model repository over HTTP. An upload is
//! written to a hidden folder inside the repository, checked by loading it with the engine,
//! then renamed into place, so a label's folder holds a whole model or none. Disk and ort
//! work run on the blocking pool. Must not decide where models run (that is routing's).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{body, ApiError, AppState};
use crate::actors::messages::RepositoryLabels;
use crate::engine::{
    self, EngineError, ModelConfig, ModelInfo, CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE,
};
use crate::worker::inference::valid_label;

/// A raw upload is written to disk in pieces of about this size.
const FLUSH_BYTES: usize = 1024 * 1024;

/// What can go wrong with the model repository, beyond the generic API errors; same JSON
/// shape as `ApiError` (`{"error":{"code","message"}}`).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("this server has no model repository (start it with --models DIR)")]
    NoRepository,
    #[error("model '{0}' already exists; pass overwrite=true to replace it")]
    LabelExists(String),
    #[error("model '{0}' is being uploaded by another request")]
    UploadInProgress(String),
    #[error("not a usable model: {0}")]
    InvalidModel(String),
    /// ONNX Runtime cannot be found or loaded; the engine's message says how to fix it.
    #[error("{0}")]
    Runtime(EngineError),
    #[error("unsupported content type '{0}': send application/json {{\"label\",\"path\"}} or application/octet-stream with ?label=")]
    UnsupportedMediaType(String),
}

impl ModelError {
    fn code(&self) -> &'static str {
        match self {
            ModelError::Api(e) => e.code(),
            ModelError::NoRepository => "no_model_repository",
            ModelError::LabelExists(_) => "label_exists",
            ModelError::UploadInProgress(_) => "upload_in_progress",
            ModelError::InvalidModel(_) => "invalid_model",
            ModelError::Runtime(e) => e.code(),
            ModelError::UnsupportedMediaType(_) => "unsupported_media_type",
        }
    }

    /// An engine error met while checking an upload: the runtime's are the server's
    /// problem, everything else means the files are not a model this engine can serve.
    fn from_engine(error: EngineError) -> Self {
        match error {
            EngineError::RuntimeMissing(_) | EngineError::RuntimeLoad { .. } => {
                ModelError::Runtime(error)
            }
            // Name the file, not the hidden staging folder it sits in.
            EngineError::ModelLoad { path, reason } | EngineError::Config { path, reason } => {
                let file = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let reason = reason.replace(&path.display().to_string(), &file);
                ModelError::InvalidModel(format!("{file}: {reason}"))
            }
            other => ModelError::InvalidModel(other.to_string()),
        }
    }

    fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        ModelError::Api(ApiError::Internal(format!("{context}: {error}")))
    }
}

impl ResponseError for ModelError {
    fn status_code(&self) -> StatusCode {
        match self {
            ModelError::Api(e) => e.status_code(),
            ModelError::NoRepository
            | ModelError::LabelExists(_)
            | ModelError::UploadInProgress(_) => StatusCode::CONFLICT,
            ModelError::InvalidModel(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ModelError::Runtime(_) => StatusCode::SERVICE_UNAVAILABLE,
            ModelError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ModelError::Api(e) = self {
            return e.error_response();
        }
        HttpResponse::build(self.status_code())
            .json(json!({ "error": { "code": self.code(), "message": self.to_string() } }))
    }
}

/// `POST /upload-model` with `Content-Type: application/json`: a model the server can read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PathUpload {
    label: String,
    /// A model folder (its `model.onnx`, and `tokenizer.json` and `model.toml` when there)
    /// or an ONNX file; absolute, on the server's file system.
    #[schema(value_type = String)]
    path: PathBuf,
    #[serde(default)]
    overwrite: bool,
}

/// The query of a raw upload (`Content-Type: application/octet-stream`, body = the ONNX file).
#[derive(Debug, Deserialize)]
struct RawUpload {
    label: Option<String>,
    #[serde(default)]
    overwrite: bool,
}

/// One folder of the repository, as `GET /models` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ModelEntry {
    label: String,
    task_types: Vec<String>,
    files: Vec<String>,
    bytes: u64,
    /// Why its `model.toml` cannot be used, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `/upload-model`'s answer.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // the body is built with `json!` in `registered`; this describes it
struct Registered {
    status: String,
    label: String,
    model_name: String,
    inputs: Vec<Object>,
    outputs: Vec<Object>,
    task_types: Vec<String>,
    message: String,
}

/// Any JSON object (in `Registered`).
type Object = serde_json::Map<String, serde_json::Value>;

/// `GET /models`'s answer.
#[derive(Serialize, utoipa::ToSchema)]
struct ModelList {
    models: Vec<ModelEntry>,
}

#[utoipa::path(
    post,
    path = "/upload-model",
    tag = "models",
    params(
        ("label" = Option<String>, Query, description = "The label (raw upload only)"),
        ("overwrite" = Option<bool>, Query, description = "Replace an existing model (raw upload only)"),
    ),
    request_body(
        description = "Either JSON naming a model on the server's disk, or the ONNX file itself",
        content((PathUpload = "application/json"), (Vec<u8> = "application/octet-stream")),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Replaced an existing model", body = Registered),
        (status = 201, description = "Registered a new model", body = Registered),
        (status = 400, description = "Malformed body", body = super::openapi::ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = super::openapi::ErrorResponse),
        (status = 409, description = "No model repository, the label exists, or an upload of it is in progress", body = super::openapi::ErrorResponse),
        (status = 413, description = "Too large", body = super::openapi::ErrorResponse),
        (status = 415, description = "Neither application/json nor application/octet-stream", body = super::openapi::ErrorResponse),
        (status = 422, description = "Invalid field, or not a usable model", body = super::openapi::ErrorResponse),
        (status = 500, description = "Internal error", body = super::openapi::ErrorResponse),
        (status = 503, description = "ONNX Runtime unavailable", body = super::openapi::ErrorResponse),
    )
)]
pub async fn upload_model(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ModelError> {
    AppState::authorize(&req, &state.config.client_token)?;
    let repository = repository(&state)?;
    let content_type = req.content_type().to_owned();
    let (label, overwrite, source) = match content_type.as_str() {
        "application/json" => {
            let bytes = body::read(&req, payload, state.config.max_body_bytes).await?;
            let upload: PathUpload = body::decode(&bytes)?;
            if !upload.path.is_absolute() {
                return Err(
                    ApiError::invalid("path", "must be an absolute path on the server").into(),
                );
            }
            (upload.label, upload.overwrite, Source::Path(upload.path))
        }
        "application/octet-stream" => {
            let query = web::Query::<RawUpload>::from_query(req.query_string())
                .map_err(|e| ApiError::invalid("query", e.to_string()))?
                .into_inner();
            let label = query
                .label
                .ok_or_else(|| ApiError::invalid("label", "missing: pass ?label=NAME"))?;
            (label, query.overwrite, Source::Body(payload))
        }
        other => return Err(ModelError::UnsupportedMediaType(other.to_owned())),
    };
    if !valid_label(&label) {
        return Err(ApiError::invalid(
            "label",
            "must be 1-128 characters of letters, digits, '-', '_' or '.', not starting with '.'",
        )
        .into());
    }
    let _claim = Claim::take(&label)?;
    if !overwrite {
        let target = repository.join(&label);
        if blocking(move || Ok(target.symlink_metadata().is_ok())).await? {
            return Err(ModelError::LabelExists(label));
        }
    }

    let staging = {
        let (repository, label) = (repository.clone(), label.clone());
        blocking(move || Staging::create(&repository, &label)).await?
    };
    let (info, replaced) = match install(&req, source, &staging, &state, &label, overwrite).await {
        Ok(done) => {
            staging.committed();
            done
        }
        Err(e) => {
            // Removed before answering, so the client never sees it.
            staging.remove().await;
            return Err(e);
        }
    };
    announce(&state, &label);
    tracing::info!(label = %label, replaced, bytes = info.model_bytes, "model registered");
    Ok(registered(&label, &info, replaced))
}

#[utoipa::path(
    get,
    path = "/models",
    tag = "models",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The repository's models", body = ModelList),
        (status = 401, description = "Missing or wrong client token", body = super::openapi::ErrorResponse),
        (status = 409, description = "No model repository configured", body = super::openapi::ErrorResponse),
        (status = 500, description = "Internal error", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ModelError> {
    AppState::authorize(&req, &state.config.client_token)?;
    let repository = repository(&state)?;
    let models = blocking(move || Ok(list_repository(&repository))).await?;
    Ok(HttpResponse::Ok().json(ModelList { models }))
}

/// Writes the upload into the staging folder, checks it loads, and moves it into place;
/// what it looks like to ort and whether it replaced a model.
async fn install(
    req: &HttpRequest,
    source: Source,
    staging: &Staging,
    state: &AppState,
    label: &str,
    overwrite: bool,
) -> Result<(ModelInfo, bool), ModelError> {
    let dir = staging.path().to_owned();
    match source {
        Source::Body(payload) => {
            let limit = state.config.max_upload_bytes;
            receive(req, payload, dir.join(MODEL_FILE), limit).await?;
        }
        Source::Path(path) => {
            let dir = dir.clone();
            blocking(move || copy_model(&path, &dir)).await?;
        }
    }
    check_and_commit(state, dir, label, overwrite).await
}

/// Tells the registry (the catalog) and the dispatcher (in-process workers share this
/// repository, so they can load the label now) about a newly installed model.
fn announce(state: &AppState, label: &str) {
    state.registry.do_send(RepositoryLabels {
        labels: vec![label.to_owned()],
    });
    state.dispatcher.do_send(RepositoryLabels {
        labels: vec![label.to_owned()],
    });
}

/// Loads the staged folder with the engine and moves it into place; what it looks like to
/// ort and whether it replaced a model.
async fn check_and_commit(
    state: &AppState,
    dir: PathBuf,
    label: &str,
    overwrite: bool,
) -> Result<(ModelInfo, bool), ModelError> {
    let ort_lib = state.config.local.ort_lib.clone();
    let repository = repository(state)?;
    let label = label.to_owned();
    blocking(move || {
        engine::init_runtime(ort_lib.as_deref()).map_err(ModelError::from_engine)?;
        let info = engine::validate(&dir).map_err(ModelError::from_engine)?;
        let replaced = commit(&dir, &repository, &label, overwrite)?;
        Ok((info, replaced))
    })
    .await
}

enum Source {
    Body(web::Payload),
    Path(PathBuf),
}

/// Installs model files sent in a request (the v2 repository API's `file:` parameters) as
/// an upload does: staged, checked by loading, moved into place, replacing the model.
pub(crate) async fn install_files(
    state: &AppState,
    label: &str,
    files: Vec<(&'static str, Vec<u8>)>,
) -> Result<ModelInfo, ModelError> {
    let repository = repository(state)?;
    if !valid_label(label) {
        return Err(ApiError::invalid("label", "not a valid model label").into());
    }
    let _claim = Claim::take(label)?;
    let staging = {
        let label = label.to_owned();
        blocking(move || Staging::create(&repository, &label)).await?
    };
    let dir = staging.path().to_owned();
    let written = blocking(move || {
        for (name, bytes) in files {
            fs::write(dir.join(name), bytes)
                .map_err(|e| ModelError::internal("cannot write a model file", e))?;
        }
        Ok(dir)
    })
    .await;
    let installed = match written {
        Ok(dir) => check_and_commit(state, dir, label, true).await,
        Err(e) => Err(e),
    };
    match installed {
        Ok((info, replaced)) => {
            staging.committed();
            announce(state, label);
            tracing::info!(label = %label, replaced, bytes = info.model_bytes, "model registered");
            Ok(info)
        }
        Err(e) => {
            staging.remove().await;
            Err(e)
        }
    }
}

fn repository(state: &AppState) -> Result<PathBuf, ModelError> {
    state
        .config
        .local
        .models
        .clone()
        .ok_or(ModelError::NoRepository)
}

fn registered(label: &str, info: &ModelInfo, replaced: bool) -> HttpResponse {
    let (status, message) = if replaced {
        (
            StatusCode::OK,
            format!(
                "model '{label}' replaced; workers that already hold it keep the old version until they evict it"
            ),
        )
    } else {
        (StatusCode::CREATED, format!("model '{label}' registered"))
    };
    HttpResponse::build(status).json(json!({
        "status": "success",
        "label": label,
        "model_name": label,
        "inputs": info.inputs,
        "outputs": info.outputs,
        "task_types": info.task_types,
        "message": message,
    }))
}

/// Runs disk or ort work on the blocking pool.
async fn blocking<T, F>(work: F) -> Result<T, ModelError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ModelError> + Send + 'static,
{
    web::block(work)
        .await
        .map_err(|e| ModelError::internal("blocking task failed", e))?
}

/// Streams a raw body into `dest`, at most `limit` bytes (413 beyond, checked against
/// `Content-Length` first and then as bytes arrive).
async fn receive(
    req: &HttpRequest,
    mut payload: web::Payload,
    dest: PathBuf,
    limit: usize,
) -> Result<(), ModelError> {
    let too_large = || ModelError::Api(ApiError::TooLarge { limit });
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut file = blocking(move || {
        fs::File::create(&dest).map_err(|e| ModelError::internal("cannot create the model file", e))
    })
    .await?;
    let mut buffer = web::BytesMut::new();
    let mut total = 0usize;
    let stall = body::timeout(req);
    loop {
        let chunk = tokio::time::timeout(stall, payload.next())
            .await
            .map_err(|_| ModelError::Api(body::timed_out(stall)))?;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            let chunk = chunk.map_err(|e| match e {
                actix_web::error::PayloadError::Overflow => too_large(),
                other => ModelError::Api(ApiError::Malformed(format!(
                    "cannot read the body: {other}"
                ))),
            })?;
            total += chunk.len();
            if total > limit {
                return Err(too_large());
            }
            buffer.extend_from_slice(&chunk);
        }
        if buffer.len() >= FLUSH_BYTES || (done && !buffer.is_empty()) {
            let piece = buffer.split().freeze();
            file = blocking(move || {
                file.write_all(&piece)
                    .map_err(|e| ModelError::internal("cannot write the model file", e))?;
                Ok(file)
            })
            .await?;
        }
        if done {
            break;
        }
    }
    if total == 0 {
        return Err(ApiError::invalid("body", "is empty; send the ONNX file").into());
    }
    Ok(())
}

/// Copies a model folder's files, or one ONNX file, into `dir`.
fn copy_model(source: &Path, dir: &Path) -> Result<(), ModelError> {
    let unreadable = |e: std::io::Error| {
        ApiError::invalid("path", format!("cannot read {}: {e}", source.display()))
    };
    let meta = fs::metadata(source).map_err(unreadable)?;
    let files: Vec<(PathBuf, &str)> = if meta.is_dir() {
        if !source.join(MODEL_FILE).is_file() {
            return Err(ApiError::invalid(
                "path",
                format!("{} has no {MODEL_FILE}", source.display()),
            )
            .into());
        }
        [MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE]
            .into_iter()
            .map(|name| (source.join(name), name))
            .filter(|(path, _)| path.is_file())
            .collect()
    } else if meta.is_file() {
        vec![(source.to_owned(), MODEL_FILE)]
    } else {
        return Err(ApiError::invalid(
            "path",
            format!("{} is not a file or folder", source.display()),
        )
        .into());
    };
    for (from, name) in files {
        fs::copy(&from, dir.join(name)).map_err(unreadable)?;
    }
    Ok(())
}

/// Moves the checked folder to `repository/label`; whether it replaced one. When it does,
/// the old folder is renamed away first and removed last, so a failure puts it back.
fn commit(
    staged: &Path,
    repository: &Path,
    label: &str,
    overwrite: bool,
) -> Result<bool, ModelError> {
    let target = repository.join(label);
    let exists = target.symlink_metadata().is_ok();
    if exists && !overwrite {
        return Err(ModelError::LabelExists(label.to_owned()));
    }
    if !exists {
        return match fs::rename(staged, &target) {
            Ok(()) => Ok(false),
            // Created meanwhile by something other than this server.
            Err(_) if target.symlink_metadata().is_ok() => {
                Err(ModelError::LabelExists(label.to_owned()))
            }
            Err(e) => Err(ModelError::internal("cannot move the model into place", e)),
        };
    }
    let old = repository.join(format!(".replaced-{label}-{}", unique()));
    fs::rename(&target, &old)
        .map_err(|e| ModelError::internal("cannot move the old model aside", e))?;
    if let Err(e) = fs::rename(staged, &target) {
        if let Err(back) = fs::rename(&old, &target) {
            tracing::error!(label = %label, old = %old.display(), error = %back, "cannot restore the old model");
        }
        return Err(ModelError::internal("cannot move the model into place", e));
    }
    if let Err(error) = fs::remove_dir_all(&old) {
        tracing::warn!(label = %label, old = %old.display(), %error, "cannot remove the replaced model");
    }
    Ok(true)
}

/// Every label of the repository with its files, total size and task types.
fn list_repository(repository: &Path) -> Vec<ModelEntry> {
    crate::server::repository_labels(repository)
        .into_iter()
        .map(|label| {
            let dir = repository.join(&label);
            let mut files = Vec::new();
            let mut bytes = 0;
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                if let Some(meta) = fs::metadata(entry.path()).ok().filter(|m| m.is_file()) {
                    bytes += meta.len();
                    files.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
            files.sort();
            let (task_types, error) = match ModelConfig::load(&dir) {
                Ok(config) => (config.task_types, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            ModelEntry {
                label,
                task_types,
                files,
                bytes,
                error,
            }
        })
        .collect()
}

fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A hidden folder in the repository that an upload is written to; removed unless the
/// upload is committed, also when the request is dropped half-way.
struct Staging {
    dir: PathBuf,
    armed: bool,
}

impl Staging {
    fn create(repository: &Path, label: &str) -> Result<Staging, ModelError> {
        let dir = repository.join(format!(".upload-{label}-{}", unique()));
        fs::create_dir(&dir)
            .map_err(|e| ModelError::internal("cannot write to the model repository", e))?;
        Ok(Staging { dir, armed: true })
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    /// The folder was renamed into place: nothing to remove.
    fn committed(mut self) {
        self.armed = false;
    }

    /// Removes the folder now, waiting for it.
    async fn remove(mut self) {
        self.armed = false;
        let dir = self.dir.clone();
        let _ = web::block(move || remove_staging(&dir)).await;
    }
}

fn remove_staging(dir: &Path) {
    if let Err(error) = fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), %error, "cannot remove an upload's staging folder");
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let dir = self.dir.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(move || remove_staging(&dir))),
            Err(_) => remove_staging(&dir),
        }
    }
}

/// Labels being uploaded by this process; one upload per label at a time.
static UPLOADING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// This request's claim on a label, released when dropped.
struct Claim(String);

impl Claim {
    fn take(label: &str) -> Result<Claim, ModelError> {
        let mut uploading = UPLOADING.lock().unwrap_or_else(PoisonError::into_inner);
        if !uploading.insert(label.to_owned()) {
            return Err(ModelError::UploadInProgress(label.to_owned()));
        }
        Ok(Claim(label.to_owned()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        UPLOADING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}
