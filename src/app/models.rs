//! Installing models into the repository, the same way for `POST /upload-model` and the
//! v2 repository API: the files are written to a staging folder, checked by loading them
//! with the engine, then moved into place, so a label's folder holds a whole model or
//! none; the registry and the in-process workers learn of it at once. Disk and ort work
//! run on the blocking pool. Must not decide where models run (that is routing's).

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use super::{body, ApiError, AppState};
use crate::actors::messages::RepositoryLabels;
use crate::engine::{self, EngineError, ModelConfig, ModelInfo};
use crate::error_code::ErrorCode;
use crate::repository::{
    CommitError, Entry, Label, Repository, Staging, UploadInProgress, MODEL_FILE,
};

/// A raw upload is written to disk in pieces of about this size.
const FLUSH_BYTES: usize = 1024 * 1024;

/// The errors of the model repository, beyond the generic ones.
fn no_repository() -> ApiError {
    ApiError::new(
        ErrorCode::NoModelRepository,
        "this server has no model repository (start it with --models DIR)",
    )
}

fn label_exists(label: &str) -> ApiError {
    ApiError::new(
        ErrorCode::LabelExists,
        format!("model '{label}' already exists; pass overwrite=true to replace it"),
    )
}

fn upload_in_progress(e: UploadInProgress) -> ApiError {
    ApiError::new(ErrorCode::UploadInProgress, e.to_string())
}

/// A content type an upload cannot have (415).
pub fn unsupported_media_type(content_type: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        format!(
            "unsupported content type '{content_type}': send application/json \
             {{\"label\",\"path\"}} or application/octet-stream with ?label="
        ),
    )
}

/// An engine error met while checking an upload: the runtime's are the server's problem
/// (503, the engine's message says how to fix it), everything else means the files are
/// not a model this engine can serve (422).
fn from_engine(error: EngineError) -> ApiError {
    match error {
        EngineError::RuntimeMissing(_) => {
            ApiError::new(ErrorCode::RuntimeMissing, error.to_string())
        }
        EngineError::RuntimeLoad { .. } => {
            ApiError::new(ErrorCode::RuntimeLoadFailed, error.to_string())
        }
        // Name the file, not the hidden staging folder it sits in.
        EngineError::ModelLoad { path, reason } | EngineError::Config { path, reason } => {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let reason = reason.replace(&path.display().to_string(), &file);
            invalid_model(format!("{file}: {reason}"))
        }
        other => invalid_model(other.to_string()),
    }
}

fn invalid_model(reason: String) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidModel,
        format!("not a usable model: {reason}"),
    )
}

fn internal(context: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("{context}: {error}"))
}

impl From<CommitError> for ApiError {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::LabelExists(label) => label_exists(&label),
            CommitError::Io { context, error } => internal(context, error),
        }
    }
}

/// Where an upload's model comes from.
pub enum Source {
    /// The request body is the ONNX file.
    Body(web::Payload),
    /// A model folder or ONNX file on the server's file system.
    Path(PathBuf),
}

/// The server's model repository, or 409 without one.
pub fn repository(state: &AppState) -> Result<Arc<Repository>, ApiError> {
    state.repository.clone().ok_or_else(no_repository)
}

/// One model folder with the task types its `model.toml` gives, or why it cannot be used.
pub struct Listed {
    pub entry: Entry,
    pub task_types: Result<Vec<String>, String>,
}

/// Every model of the repository.
pub async fn list(state: &AppState) -> Result<Vec<Listed>, ApiError> {
    let repository = repository(state)?;
    blocking(move || {
        Ok(repository
            .entries()
            .into_iter()
            .map(|entry| {
                let task_types = ModelConfig::load(&repository.dir().join(&entry.label))
                    .map(|config| config.task_types)
                    .map_err(|e| e.to_string());
                Listed { entry, task_types }
            })
            .collect())
    })
    .await
}

/// Installs an upload as model `label`; what it looks like to ort and whether it
/// replaced a model.
pub async fn upload(
    state: &AppState,
    req: &HttpRequest,
    label: &str,
    overwrite: bool,
    source: Source,
) -> Result<(ModelInfo, bool), ApiError> {
    let repository = repository(state)?;
    let label = Label::new(label).map_err(|e| ApiError::invalid("label", e.to_string()))?;
    let _claim = repository.claim(&label).map_err(upload_in_progress)?;
    if !overwrite {
        let (repo, name) = (repository.clone(), label.clone());
        if blocking(move || Ok(repo.exists(&name))).await? {
            return Err(label_exists(label.as_str()));
        }
    }
    let staging = stage(&repository, &label).await?;
    let dir = staging.path().to_owned();
    let written = match source {
        Source::Body(payload) => {
            receive(
                req,
                payload,
                dir.join(MODEL_FILE),
                state.config.api.max_upload_bytes,
            )
            .await
        }
        Source::Path(path) => {
            blocking(move || {
                crate::repository::copy_model(&path, &dir)
                    .map_err(|e| ApiError::invalid("path", e.to_string()))
            })
            .await
        }
    };
    let installed =
        check_and_commit(state, &repository, staging, written, &label, overwrite).await?;
    announce(state, label.as_str());
    tracing::info!(label = %label, replaced = installed.1, bytes = installed.0.model_bytes, "model registered");
    Ok(installed)
}

/// Installs model files sent in a request (the v2 repository API's `file:` parameters) as
/// an upload does: staged, checked by loading, moved into place, replacing the model.
pub async fn install_files(
    state: &AppState,
    label: &str,
    files: Vec<(&'static str, Vec<u8>)>,
) -> Result<ModelInfo, ApiError> {
    let repository = repository(state)?;
    let label =
        Label::new(label).map_err(|_| ApiError::invalid("label", "not a valid model label"))?;
    let _claim = repository.claim(&label).map_err(upload_in_progress)?;
    let staging = stage(&repository, &label).await?;
    let dir = staging.path().to_owned();
    let written = blocking(move || {
        for (name, bytes) in files {
            fs::write(dir.join(name), bytes)
                .map_err(|e| internal("cannot write a model file", e))?;
        }
        Ok(())
    })
    .await;
    let (info, replaced) =
        check_and_commit(state, &repository, staging, written, &label, true).await?;
    announce(state, label.as_str());
    tracing::info!(label = %label, replaced, bytes = info.model_bytes, "model registered");
    Ok(info)
}

async fn stage(repository: &Arc<Repository>, label: &Label) -> Result<Staging, ApiError> {
    let (repository, label) = (repository.clone(), label.clone());
    blocking(move || {
        repository
            .stage(&label)
            .map_err(|e| internal("cannot write to the model repository", e))
    })
    .await
}

/// Once the files are `written`, loads the staged folder with the engine and moves it
/// into place. On any failure the staging folder is removed before the answer, so the
/// client never sees it.
async fn check_and_commit(
    state: &AppState,
    repository: &Arc<Repository>,
    mut staging: Staging,
    written: Result<(), ApiError>,
    label: &Label,
    overwrite: bool,
) -> Result<(ModelInfo, bool), ApiError> {
    let ort_lib = state.config.local.ort_lib.clone();
    let (repository, label) = (repository.clone(), label.clone());
    blocking(move || {
        let installed = written.and_then(|()| {
            engine::init_runtime(ort_lib.as_deref()).map_err(from_engine)?;
            let info = engine::validate(staging.path()).map_err(from_engine)?;
            let replaced = repository.commit(&mut staging, &label, overwrite)?;
            Ok((info, replaced))
        });
        if installed.is_err() {
            staging.remove();
        }
        installed
    })
    .await
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

/// Runs disk or ort work on the blocking pool.
async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    web::block(work)
        .await
        .map_err(|e| internal("blocking task failed", e))?
}

/// Streams a raw body into `dest`, at most `limit` bytes (413 beyond, checked against
/// `Content-Length` first and then as bytes arrive).
async fn receive(
    req: &HttpRequest,
    mut payload: web::Payload,
    dest: PathBuf,
    limit: usize,
) -> Result<(), ApiError> {
    let too_large = || ApiError::too_large(limit);
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut file = blocking(move || {
        fs::File::create(&dest).map_err(|e| internal("cannot create the model file", e))
    })
    .await?;
    let mut buffer = web::BytesMut::new();
    let mut total = 0usize;
    let stall = body::timeout(req);
    loop {
        let chunk = tokio::time::timeout(stall, payload.next())
            .await
            .map_err(|_| body::timed_out(stall))?;
        let done = chunk.is_none();
        if let Some(chunk) = chunk {
            let chunk = chunk.map_err(|e| match e {
                actix_web::error::PayloadError::Overflow => too_large(),
                other => ApiError::malformed(format!("cannot read the body: {other}")),
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
                    .map_err(|e| internal("cannot write the model file", e))?;
                Ok(file)
            })
            .await?;
        }
        if done {
            break;
        }
    }
    if total == 0 {
        return Err(ApiError::invalid("body", "is empty; send the ONNX file"));
    }
    Ok(())
}
