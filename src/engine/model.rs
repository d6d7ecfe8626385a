//! Loading a model folder (`model.onnx`, optional `tokenizer.json` and `model.toml`) into
//! an ort session on the configured device. Synchronous and blocking; must not depend on
//! actix or tokio.

use std::path::{Path, PathBuf};

use ort::session::builder::SessionBuilder;
use ort::session::Session;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use super::config::{Device, ModelConfig};
use super::error::EngineError;
use super::exec::load_tokenizer;
use super::inspect::{check_serves, describe};
use super::runtime;
use crate::repository::{MODEL_FILE, TOKENIZER_FILE};

/// One model input or output as ONNX Runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    /// `f32`, `i64`, ... for tensors; the whole type (e.g. `Sequence<...>`) otherwise.
    pub element_type: String,
    /// -1 for a dynamic dimension; empty for non-tensors.
    pub dims: Vec<i64>,
}

/// What a loaded model looks like, for the upload API and the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// The output the tasks read.
    pub output: String,
    pub task_types: Vec<String>,
    pub has_tokenizer: bool,
    /// The device the session actually runs on (`cpu` after a CUDA fallback).
    pub device: String,
    /// Size of `model.onnx`, a rough lower bound of the memory the model takes.
    pub model_bytes: u64,
}

/// A model ready to run: its session, tokenizer and config. Not `Clone`; one per worker
/// thread (ort sessions run with `&mut self`).
pub struct LoadedModel {
    pub(crate) label: String,
    pub(crate) dir: PathBuf,
    pub(crate) config: ModelConfig,
    pub(crate) session: Session,
    pub(crate) tokenizer: Option<Tokenizer>,
    pub(crate) info: ModelInfo,
    pub(crate) device: Device,
}

/// Loads the folder and describes it; what the upload endpoint calls to check a model.
pub fn validate(dir: &Path) -> Result<ModelInfo, EngineError> {
    LoadedModel::load(dir).map(|model| model.info)
}

impl LoadedModel {
    /// Loads `dir/model.onnx` with the settings of `dir/model.toml`, and `dir/tokenizer.json`
    /// when present. The label defaults to the folder's name. Initialises the runtime from
    /// the default locations if `init_runtime` has not run yet.
    pub fn load(dir: &Path) -> Result<LoadedModel, EngineError> {
        let model_path = dir.join(MODEL_FILE);
        let load_err = |reason: String| EngineError::ModelLoad {
            path: model_path.clone(),
            reason,
        };
        let model_bytes = std::fs::metadata(&model_path)
            .map_err(|e| load_err(format!("cannot read it: {e}")))?
            .len();
        let config = ModelConfig::load(dir)?;
        let env = runtime::environment()?;
        let mut builder = Session::builder(&env).map_err(|e| load_err(e.to_string()))?;
        if config.intra_op_threads > 0 {
            builder = builder
                .with_intra_threads(config.intra_op_threads)
                .map_err(|e| load_err(e.to_string()))?;
        }
        let (mut builder, device) = with_device(builder, &config)?;
        let session = builder
            .commit_from_file(&model_path)
            .map_err(|e| load_err(e.to_string()))?;

        let tokenizer_path = dir.join(TOKENIZER_FILE);
        let tokenizer = if tokenizer_path.is_file() {
            let tokenizer =
                load_tokenizer(&tokenizer_path, config.max_length).map_err(|reason| {
                    EngineError::ModelLoad {
                        path: tokenizer_path.clone(),
                        reason,
                    }
                })?;
            Some(tokenizer)
        } else {
            None
        };

        let inputs: Vec<TensorInfo> = session.inputs().iter().map(describe).collect();
        let outputs: Vec<TensorInfo> = session.outputs().iter().map(describe).collect();
        let output = match &config.output {
            Some(name) => name.clone(),
            None => outputs
                .first()
                .map(|o| o.name.clone())
                .ok_or_else(|| load_err("the model has no outputs".into()))?,
        };
        let info = ModelInfo {
            inputs,
            outputs,
            output,
            task_types: config.task_types.clone(),
            has_tokenizer: tokenizer.is_some(),
            device: device.to_string(),
            model_bytes,
        };
        check_serves(&info, &config).map_err(load_err)?;
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        tracing::info!(label = %label, device = %device, bytes = model_bytes, "loaded model");
        Ok(LoadedModel {
            label,
            dir: dir.to_path_buf(),
            config,
            session,
            tokenizer,
            info,
            device,
        })
    }

    /// The same model under another label (reported in `embed_texts` results).
    pub fn with_label(mut self, label: impl Into<String>) -> LoadedModel {
        self.label = label.into();
        self
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn inputs(&self) -> &[TensorInfo] {
        &self.info.inputs
    }

    pub fn outputs(&self) -> &[TensorInfo] {
        &self.info.outputs
    }

    /// The device the session runs on (CPU after an allowed CUDA fallback).
    pub fn device(&self) -> Device {
        self.device
    }

    /// Rough memory the model takes: the size of `model.onnx`.
    pub fn approx_memory_bytes(&self) -> u64 {
        self.info.model_bytes
    }

    /// Whether `task_type` is one of this model's configured task types.
    pub fn serves(&self, task_type: &str) -> bool {
        self.config.task_types.iter().any(|t| t == task_type)
    }
}

/// Registers the configured device's execution provider; CPU needs none.
fn with_device(
    builder: SessionBuilder,
    config: &ModelConfig,
) -> Result<(SessionBuilder, Device), EngineError> {
    let Device::Cuda(ordinal) = config.device else {
        return Ok((builder, Device::Cpu));
    };
    let unavailable = |reason: String| EngineError::DeviceUnavailable {
        device: config.device.to_string(),
        reason,
    };
    #[cfg(feature = "cuda")]
    let outcome = {
        let ep = ort::ep::CUDA::default()
            .with_device_id(ordinal)
            .build()
            .error_on_failure();
        match builder.with_execution_providers([ep]) {
            Ok(builder) => return Ok((builder, config.device)),
            Err(e) => (e.to_string(), e.recover()),
        }
    };
    #[cfg(not(feature = "cuda"))]
    let outcome = (
        format!("cuda:{ordinal} requested but this binary was built without the `cuda` feature"),
        builder,
    );
    let (reason, builder) = outcome;
    if config.allow_cpu_fallback {
        tracing::warn!(device = %config.device, %reason, "CUDA unavailable; running on CPU");
        Ok((builder, Device::Cpu))
    } else {
        Err(unavailable(format!(
            "{reason} (set allow_cpu_fallback = true in model.toml to run on CPU instead)"
        )))
    }
}
