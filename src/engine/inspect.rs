//! Describing a session's inputs and outputs, and checking that a model fits the task
//! types its config names. Must not depend on actix or tokio.

use ort::value::{Outlet, TensorElementType, ValueType};

use super::config::ModelConfig;
use super::exec::TEXT_INPUTS;
use super::model::{ModelInfo, TensorInfo};
use super::tasks::{EMBED_TEXTS, INFER};
use crate::repository::{MODEL_FILE, TOKENIZER_FILE};

pub(crate) fn describe(outlet: &Outlet) -> TensorInfo {
    let (element_type, dims) = match outlet.dtype() {
        ValueType::Tensor { ty, shape, .. } => (ty.to_string(), shape.iter().copied().collect()),
        other => (other.to_string(), Vec::new()),
    };
    TensorInfo {
        name: outlet.name().to_string(),
        element_type,
        dims,
    }
}

fn f32_name() -> String {
    TensorElementType::Float32.to_string()
}

fn i64_name() -> String {
    TensorElementType::Int64.to_string()
}

/// Checks the model's inputs and outputs fit every configured task type.
pub(crate) fn check_serves(info: &ModelInfo, config: &ModelConfig) -> Result<(), String> {
    let output = info
        .outputs
        .iter()
        .find(|o| o.name == info.output)
        .ok_or_else(|| {
            let names: Vec<&str> = info.outputs.iter().map(|o| o.name.as_str()).collect();
            format!(
                "output `{}` is not one of the model's outputs {names:?}",
                info.output
            )
        })?;
    if output.element_type != f32_name() {
        return Err(format!(
            "output `{}` is {}; the engine reads f32 outputs",
            output.name, output.element_type
        ));
    }
    for task_type in &config.task_types {
        match task_type.as_str() {
            EMBED_TEXTS => check_embed(info, output)?,
            INFER => check_infer(info, output)?,
            _ => {} // ModelConfig::parse rejects unknown task types.
        }
    }
    Ok(())
}

fn check_embed(info: &ModelInfo, output: &TensorInfo) -> Result<(), String> {
    if !info.has_tokenizer {
        return Err(format!(
            "{EMBED_TEXTS} needs a {TOKENIZER_FILE} beside {MODEL_FILE}"
        ));
    }
    if !info.inputs.iter().any(|i| i.name == "input_ids") {
        return Err(format!(
            "{EMBED_TEXTS} needs a model input named `input_ids`"
        ));
    }
    for input in &info.inputs {
        if !TEXT_INPUTS.contains(&input.name.as_str()) || input.element_type != i64_name() {
            return Err(format!(
                "{EMBED_TEXTS} can feed only i64 inputs {TEXT_INPUTS:?}; the model has `{}` ({})",
                input.name, input.element_type
            ));
        }
    }
    if !matches!(output.dims.len(), 2 | 3) {
        return Err(format!(
            "{EMBED_TEXTS} needs output `{}` shaped [batch, sequence, hidden] or [batch, hidden], not {:?}",
            output.name, output.dims
        ));
    }
    Ok(())
}

fn check_infer(info: &ModelInfo, output: &TensorInfo) -> Result<(), String> {
    match info.inputs.as_slice() {
        [input] if input.element_type == f32_name() && input.dims.len() == 2 => {}
        _ => {
            return Err(format!(
                "{INFER} needs exactly one f32 input shaped [N, d]; the model has {:?}",
                info.inputs
                    .iter()
                    .map(|i| format!("{} {} {:?}", i.name, i.element_type, i.dims))
                    .collect::<Vec<_>>()
            ))
        }
    }
    if output.dims.is_empty() {
        return Err(format!(
            "{INFER} needs output `{}` with a batch dimension",
            output.name
        ));
    }
    Ok(())
}
