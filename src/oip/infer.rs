//! The inference core both transports share: checks a request against the model, turns
//! it into an `embed_texts` or `infer` task for the label, submits it to the dispatcher
//! (so it gets the same label-aware placement as `/run-task`), waits, and returns the
//! FP32 output tensor.

use serde::{Deserialize, Serialize};

use super::error::OipError;
use super::models::{describe, Kind, ModelDesc};
use super::tensor::{element_count, InputTensor, OutputTensor, TensorData, BYTES, FP32};
use super::OipState;
use crate::actors::messages::NewTask;
use crate::app::submit::{submit_and_wait, WaitError};
use crate::error_code::ErrorCode;
use crate::tasks::{Status, TaskView};

/// One inference request, whatever the transport.
#[derive(Debug, Clone)]
pub struct InferCall {
    pub model: String,
    pub inputs: Vec<InputTensor>,
    /// Outputs the client named; empty = all.
    pub outputs: Vec<String>,
    /// The caller's tenant.
    pub tenant: std::sync::Arc<str>,
}

/// Runs `call` through the dispatcher; the one output tensor.
pub async fn infer(state: &OipState, call: InferCall) -> Result<OutputTensor, OipError> {
    let desc = describe(state, &call.model).await?;
    if !state.is_ready(&call.model) {
        return Err(not_ready(&call.model));
    }
    let [input] = <[InputTensor; 1]>::try_from(call.inputs).map_err(|inputs| {
        OipError::bad_request(format!(
            "model '{}' takes exactly one input, got {}",
            call.model,
            inputs.len()
        ))
    })?;
    let kind = check_input(&desc, &input)?;
    let output = desc.output_name(kind);
    if let Some(other) = call.outputs.iter().find(|o| **o != output) {
        return Err(OipError::bad_request(format!(
            "model '{}' has no output '{other}' (its output is '{output}')",
            call.model
        )));
    }
    let parameters_json = parameters(kind, &input)?;
    crate::engine::parse_params(kind.task_type(), &parameters_json)
        .map_err(|e| OipError::bad_request(e.to_string()))?;
    let task = NewTask {
        task_id: state.next_task_id(),
        task_type: kind.task_type().to_owned(),
        label: call.model.clone(),
        parameters_json,
        deadline: None,
        tenant: call.tenant,
    };
    let view = run(state, task).await?;
    let rows = rows_of(kind, &view)?;
    let dim = rows.first().map_or(0, Vec::len);
    Ok(OutputTensor {
        name: output,
        shape: vec![rows.len() as i64, dim as i64],
        data: rows.into_iter().flatten().collect(),
    })
}

pub fn not_ready(model: &str) -> OipError {
    OipError::bad_request(format!(
        "model '{model}' is unloaded; load it with POST /v2/repository/models/{model}/load"
    ))
}

/// The task kind this input makes, after checking its name, datatype and shape.
fn check_input(desc: &ModelDesc, input: &InputTensor) -> Result<Kind, OipError> {
    if let Some(name) = desc.input.as_deref().filter(|n| *n != input.name) {
        return Err(OipError::bad_request(format!(
            "model '{}' has no input '{}' (its input is '{name}')",
            desc.name, input.name
        )));
    }
    let given = match input.datatype.as_str() {
        BYTES => Kind::Text,
        FP32 => Kind::Rows,
        other => {
            return Err(OipError::bad_request(format!(
                "input '{}' has datatype {other}; model '{}' takes {}",
                input.name,
                desc.name,
                desc.kind.map_or("FP32 or BYTES", Kind::datatype)
            )))
        }
    };
    let kind = desc.kind.unwrap_or(given);
    if kind != given {
        return Err(OipError::bad_request(format!(
            "input '{}' has datatype {}; model '{}' takes {}",
            input.name,
            input.datatype,
            desc.name,
            kind.datatype()
        )));
    }
    let shape_error = |want: &str| {
        OipError::bad_request(format!(
            "input '{}' has shape {:?}; model '{}' takes {want}",
            input.name, input.shape, desc.name
        ))
    };
    match kind {
        Kind::Text if !matches!(input.shape.as_slice(), [_] | [_, 1]) => {
            return Err(shape_error("[n] or [n, 1] texts"))
        }
        Kind::Rows => match (input.shape.as_slice(), desc.width) {
            ([_, d], Some(w)) if *d != w as i64 => return Err(shape_error(&format!("[n, {w}]"))),
            ([_, _], _) => {}
            (_, w) => {
                return Err(shape_error(&format!(
                    "[n, {}]",
                    w.map_or("d".to_owned(), |w| w.to_string())
                )))
            }
        },
        Kind::Text => {}
    }
    let expected = element_count(&input.shape).ok_or_else(|| shape_error("a valid shape"))?;
    if expected != input.data.len() {
        return Err(OipError::bad_request(format!(
            "input '{}' has shape {:?} ({expected} elements) but {} elements of data",
            input.name,
            input.shape,
            input.data.len()
        )));
    }
    Ok(kind)
}

#[derive(Serialize)]
struct TextParams<'a> {
    texts: Vec<&'a str>,
}

#[derive(Serialize)]
struct RowParams<'a> {
    inputs: Vec<&'a [f32]>,
}

/// The task's `parameters_json` for a checked input.
fn parameters(kind: Kind, input: &InputTensor) -> Result<String, OipError> {
    let json = match (&input.data, kind) {
        (TensorData::Bytes(items), Kind::Text) => {
            let texts = items
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    std::str::from_utf8(b).map_err(|_| {
                        OipError::bad_request(format!(
                            "input '{}': element {i} is not UTF-8 text",
                            input.name
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            serde_json::to_string(&TextParams { texts })
        }
        (TensorData::Fp32(values), Kind::Rows) => {
            let width = input.shape.get(1).copied().unwrap_or(1).max(1) as usize;
            serde_json::to_string(&RowParams {
                inputs: values.chunks(width).collect(),
            })
        }
        _ => return Err(OipError::internal("input data does not match its datatype")),
    };
    json.map_err(|e| OipError::internal(format!("cannot write the task parameters: {e}")))
}

/// Submits the task and waits for its final view; a failed task becomes its error.
pub(super) async fn run(state: &OipState, task: NewTask) -> Result<TaskView, OipError> {
    let view = submit_and_wait(&state.app, task)
        .await
        .map_err(|e| match e {
            WaitError::Api(e) => e.into(),
            // Only a drain lets go of a waiting client: the task is kept for the restart.
            WaitError::ShuttingDown { .. } | WaitError::Dropped => OipError::new(
                ErrorCode::ShuttingDown,
                "the server is shutting down; the task runs after the restart",
            ),
        })?;
    if view.status == Status::Completed {
        return Ok(view);
    }
    Err(failure(&view))
}

/// The error a task that did not complete answers with.
pub(super) fn failure(view: &TaskView) -> OipError {
    let code = match (view.status, &view.error) {
        (Status::Cancelled, _) => ErrorCode::Cancelled,
        (_, Some(error)) => error.code,
        (_, None) => ErrorCode::TaskFailed,
    };
    let message = view
        .error
        .as_ref()
        .map_or("the task did not complete", |e| e.message.as_str());
    OipError::new(code, format!("inference failed: {message}"))
}

#[derive(Deserialize)]
struct Embeddings {
    embeddings: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct Outputs {
    outputs: Vec<Vec<f32>>,
}

/// The rows of a completed task's result.
fn rows_of(kind: Kind, view: &TaskView) -> Result<Vec<Vec<f32>>, OipError> {
    let raw = view
        .result
        .as_ref()
        .ok_or_else(|| OipError::internal("the task completed without a result"))?
        .get();
    let bad = |e: serde_json::Error| OipError::internal(format!("unexpected task result: {e}"));
    let rows = match kind {
        Kind::Text => {
            serde_json::from_str::<Embeddings>(raw)
                .map_err(bad)?
                .embeddings
        }
        Kind::Rows => serde_json::from_str::<Outputs>(raw).map_err(bad)?.outputs,
    };
    if rows.windows(2).any(|w| w[0].len() != w[1].len()) {
        return Err(OipError::internal("the task result's rows differ in width"));
    }
    Ok(rows)
}
