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
use crate::repository::{CommitError, Entry, Label, Repository, Staging, MODEL_FILE};

/// A raw upload is written to disk in pieces of about this size.
const FLUSH_BYTES: usize = 1024 * 1024;

/// What can go wrong with the model repository, beyond the generic API errors.
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
    pub fn code(&self) -> &'static str {
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

impl From<CommitError> for ModelError {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::LabelExists(label) => ModelError::LabelExists(label),
            CommitError::Io { context, error } => ModelError::internal(context, error),
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
pub fn repository(state: &AppState) -> Result<Arc<Repository>, ModelError> {
    state.repository.clone().ok_or(ModelError::NoRepository)
}

/// One model folder with the task types its `model.toml` gives, or why it cannot be used.
pub struct Listed {
    pub entry: Entry,
    pub task_types: Result<Vec<String>, String>,
}

/// Every model of the repository.
pub async fn list(state: &AppState) -> Result<Vec<Listed>, ModelError> {
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
) -> Result<(ModelInfo, bool), ModelError> {
    let repository = repository(state)?;
    let label = Label::new(label).map_err(|e| ApiError::invalid("label", e.to_string()))?;
    let _claim = repository
        .claim(&label)
        .map_err(|e| ModelError::UploadInProgress(e.0))?;
    if !overwrite {
        let (repo, name) = (repository.clone(), label.clone());
        if blocking(move || Ok(repo.exists(&name))).await? {
            return Err(ModelError::LabelExists(label.to_string()));
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
                state.config.max_upload_bytes,
            )
            .await
        }
        Source::Path(path) => {
            blocking(move || {
                crate::repository::copy_model(&path, &dir)
                    .map_err(|e| ApiError::invalid("path", e.to_string()).into())
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
) -> Result<ModelInfo, ModelError> {
    let repository = repository(state)?;
    let label =
        Label::new(label).map_err(|_| ApiError::invalid("label", "not a valid model label"))?;
    let _claim = repository
        .claim(&label)
        .map_err(|e| ModelError::UploadInProgress(e.0))?;
    let staging = stage(&repository, &label).await?;
    let dir = staging.path().to_owned();
    let written = blocking(move || {
        for (name, bytes) in files {
            fs::write(dir.join(name), bytes)
                .map_err(|e| ModelError::internal("cannot write a model file", e))?;
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

async fn stage(repository: &Arc<Repository>, label: &Label) -> Result<Staging, ModelError> {
    let (repository, label) = (repository.clone(), label.clone());
    blocking(move || {
        repository
            .stage(&label)
            .map_err(|e| ModelError::internal("cannot write to the model repository", e))
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
    written: Result<(), ModelError>,
    label: &Label,
    overwrite: bool,
) -> Result<(ModelInfo, bool), ModelError> {
    let ort_lib = state.config.local.ort_lib.clone();
    let (repository, label) = (repository.clone(), label.clone());
    blocking(move || {
        let installed = written.and_then(|()| {
            engine::init_runtime(ort_lib.as_deref()).map_err(ModelError::from_engine)?;
            let info = engine::validate(staging.path()).map_err(ModelError::from_engine)?;
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
