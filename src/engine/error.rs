//! The engine's error type: one enum for everything `src/engine` can fail at.
//! Must not depend on actix, tokio or the HTTP layer; callers map variants via `code()`.

use std::path::PathBuf;

/// Why loading or running a model failed. Cloneable so that one failed session call can
/// be reported to every task that was batched into it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// No ONNX Runtime library could be found; the message lists what was tried.
    #[error("{0}")]
    RuntimeMissing(String),
    /// The ONNX Runtime library exists but could not be loaded or initialised.
    #[error("could not load ONNX Runtime from {path}: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },
    /// `model.toml` could not be read or has an invalid value.
    #[error("invalid model config {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    /// The model folder or one of its files cannot be used (ONNX Runtime's reason included).
    #[error("cannot load model {path}: {reason}")]
    ModelLoad { path: PathBuf, reason: String },
    /// The configured device cannot be used and CPU fallback is not allowed.
    #[error("device {device} is unavailable: {reason}")]
    DeviceUnavailable { device: String, reason: String },
    /// The task's `parameters_json` is malformed or out of bounds (HTTP 422).
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The model does not serve this task type.
    #[error("task type `{task_type}` is not served by this model (it serves: {served})")]
    UnsupportedTask { task_type: String, served: String },
    /// ONNX Runtime failed while running the session.
    #[error("inference failed: {0}")]
    Inference(String),
}

impl EngineError {
    /// A stable, machine-readable code for this error (used in API error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::RuntimeMissing(_) => "runtime_missing",
            EngineError::RuntimeLoad { .. } => "runtime_load_failed",
            EngineError::Config { .. } => "invalid_model_config",
            EngineError::ModelLoad { .. } => "model_load_failed",
            EngineError::DeviceUnavailable { .. } => "device_unavailable",
            EngineError::InvalidParams(_) => "invalid_params",
            EngineError::UnsupportedTask { .. } => "unsupported_task_type",
            EngineError::Inference(_) => "inference_failed",
        }
    }

    /// True when the error is the caller's fault (bad parameters or task type), false when
    /// the model, runtime or device failed.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            EngineError::InvalidParams(_) | EngineError::UnsupportedTask { .. }
        )
    }
}
