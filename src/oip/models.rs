//! What a model looks like through the protocol: found in the model repository (its
//! `model.toml` and, once described by ONNX Runtime, its tensors) or only known from the
//! workers; its metadata and readiness. Model name = label.

use std::path::PathBuf;

use serde::Serialize;

use super::error::OipError;
use super::tensor::{BYTES, FP32};
use super::OipState;
use super::VERSION;
use crate::actors::messages::ListLabels;
use crate::engine::{self, ModelConfig, EMBED_TEXTS, INFER};
use crate::error_code::ErrorCode;
use crate::repository::Label;

/// The input and output names of text models, whose ONNX inputs are token ids.
pub const TEXT_INPUT: &str = "TEXT";
pub const TEXT_OUTPUT: &str = "EMBEDDINGS";
/// The output name of a model known only from remote workers.
pub const DEFAULT_OUTPUT: &str = "OUTPUT";

/// Which task a model's requests become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `embed_texts`: BYTES `[n]` in, FP32 `[n, dim]` out.
    Text,
    /// `infer`: FP32 `[n, d]` in, FP32 `[n, k]` out.
    Rows,
}

impl Kind {
    pub fn task_type(self) -> &'static str {
        match self {
            Kind::Text => EMBED_TEXTS,
            Kind::Rows => INFER,
        }
    }

    pub fn datatype(self) -> &'static str {
        match self {
            Kind::Text => BYTES,
            Kind::Rows => FP32,
        }
    }
}

/// A model as far as this server knows it; `None` fields are unknown (a label that only
/// remote workers serve), and requests are then not checked against them.
#[derive(Debug, Clone)]
pub struct ModelDesc {
    pub name: String,
    pub kind: Option<Kind>,
    pub input: Option<String>,
    /// Numbers per row of an infer model's input.
    pub width: Option<usize>,
    pub output: Option<String>,
    /// The last dimension of the output.
    pub output_dim: Option<i64>,
}

impl ModelDesc {
    pub fn output_name(&self, kind: Kind) -> String {
        self.output.clone().unwrap_or_else(|| {
            match kind {
                Kind::Text => TEXT_OUTPUT,
                Kind::Rows => DEFAULT_OUTPUT,
            }
            .to_owned()
        })
    }
}

/// `$metadata_model_response`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelMetadata {
    pub name: String,
    pub versions: Vec<String>,
    pub platform: String,
    pub inputs: Vec<TensorMetadata>,
    pub outputs: Vec<TensorMetadata>,
}

/// `$metadata_tensor`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TensorMetadata {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

impl ModelDesc {
    pub fn metadata(&self) -> ModelMetadata {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        if let Some(kind) = self.kind {
            let (in_shape, out_dim) = match kind {
                Kind::Text => (vec![-1], self.output_dim.unwrap_or(-1)),
                Kind::Rows => (
                    vec![-1, self.width.map_or(-1, |w| w as i64)],
                    self.output_dim.unwrap_or(-1),
                ),
            };
            inputs.push(TensorMetadata {
                name: self.input.clone().unwrap_or_else(|| TEXT_INPUT.to_owned()),
                datatype: kind.datatype().to_owned(),
                shape: in_shape,
            });
            outputs.push(TensorMetadata {
                name: self.output_name(kind),
                datatype: FP32.to_owned(),
                shape: vec![-1, out_dim],
            });
        }
        ModelMetadata {
            name: self.name.clone(),
            versions: vec![VERSION.to_owned()],
            platform: "onnxruntime_onnx".to_owned(),
            inputs,
            outputs,
        }
    }
}

/// The folder of `name` in the model repository, when it holds a model.
pub fn repository_dir(state: &OipState, name: &str) -> Option<PathBuf> {
    state.app.repository.as_ref()?.model_dir(name)
}

/// Describes model `name`, or 404 when neither the repository nor a worker knows it.
pub async fn describe(state: &OipState, name: &str) -> Result<ModelDesc, OipError> {
    if Label::new(name).is_err() {
        return Err(OipError::unknown_model(name));
    }
    if let Some(dir) = repository_dir(state, name) {
        return describe_folder(state, name, dir).await;
    }
    let labels = state.app.registry.send(ListLabels).await?;
    if labels.contains_key(name) {
        return Ok(ModelDesc {
            name: name.to_owned(),
            kind: None,
            input: None,
            width: None,
            output: None,
            output_dim: None,
        });
    }
    Err(OipError::unknown_model(name))
}

async fn describe_folder(
    state: &OipState,
    name: &str,
    dir: PathBuf,
) -> Result<ModelDesc, OipError> {
    let cached = state.info(name);
    let ort_lib = state.app.config.local.ort_lib.clone();
    let (config, info) = actix_web::web::block(move || {
        let config = ModelConfig::load(&dir);
        let info = cached.or_else(|| {
            let described =
                engine::init_runtime(ort_lib.as_deref()).and_then(|_| engine::validate(&dir));
            described
                .map_err(
                    |error| tracing::warn!(%error, dir = %dir.display(), "cannot describe model"),
                )
                .ok()
        });
        (config, info)
    })
    .await
    .map_err(|e| OipError::internal(format!("blocking task failed: {e}")))?;
    let config = config.map_err(|e| {
        OipError::new(
            ErrorCode::ModelUnavailable,
            format!("model '{name}' has an unusable model.toml: {e}"),
        )
    })?;
    if let Some(info) = &info {
        state.remember(name, info.clone());
    }
    let kind = if config.task_types.iter().any(|t| t == EMBED_TEXTS) {
        Kind::Text
    } else {
        Kind::Rows
    };
    let last_dim = |dims: &[i64]| dims.last().copied().filter(|d| *d > 0);
    let output_dim = info.as_ref().and_then(|i| {
        i.outputs
            .iter()
            .find(|o| o.name == i.output)
            .and_then(|o| last_dim(&o.dims))
    });
    let (input, width, output) = match (kind, &info) {
        (Kind::Text, _) => (
            Some(TEXT_INPUT.to_owned()),
            None,
            Some(TEXT_OUTPUT.to_owned()),
        ),
        (Kind::Rows, Some(info)) => {
            let first = info.inputs.first();
            (
                first.map(|i| i.name.clone()),
                first.and_then(|i| last_dim(&i.dims)).map(|d| d as usize),
                Some(info.output.clone()),
            )
        }
        (Kind::Rows, None) => (None, None, None),
    };
    Ok(ModelDesc {
        name: name.to_owned(),
        kind: Some(kind),
        input,
        width,
        output,
        output_dim,
    })
}
