//! Triton's `ModelStreamInfer`: a bidirectional stream of inference requests, each
//! answered on it as soon as it can be, so several are in flight at once and each
//! response carries its request's `id`. A model of the repository answers one response
//! with the usual inference result; any other model, when a `generate` worker is
//! connected, is *decoupled*: it is a `generate` task streamed the way `generate_stream`
//! streams one (`app::submit::submit_streaming`), one response per chunk with parameter
//! `triton_final_response = false`, then a final one (`true`) that carries the result
//! when the task sent no chunks and is otherwise empty, sent only when the request asked
//! for it (`triton_enable_empty_final_response`), as Triton does. A request's error is an
//! `error_message` on the stream, which stays open; a client that goes away cancels the
//! tasks of its requests.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tonic::{Status, Streaming};

use super::error::OipError;
use super::generate::GENERATE;
use super::grpc::{infer_response, inputs, pb, version_check};
use super::grpc_generate::{outputs_of, task_parameters};
use super::infer::{failure, infer, InferCall};
use super::models::repository_dir;
use super::OipState;
use crate::actors::messages::{NewTask, RunsTaskType};
use crate::app::submit::{submit_streaming, Framing};
use crate::error_code::ErrorCode;
use crate::tasks::{Status as TaskStatus, TaskView};
use pb::infer_parameter::ParameterChoice;

/// What `ModelStreamInfer` answers with.
pub type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<pb::ModelStreamInferResponse, Status>> + Send>>;

/// The response parameter that tells a decoupled response apart from the last.
pub const FINAL: &str = "triton_final_response";
/// The request parameter that asks for the final response even when it is empty.
pub const EMPTY_FINAL: &str = "triton_enable_empty_final_response";

/// Responses that may wait for a client reading slowly, per stream; past it, the
/// stream's requests wait to send theirs (each chunk's task keeps its own bound,
/// `stream_buffer_bytes`, behind it).
const QUEUE: usize = 64;

/// Serves one stream: reads requests until the client has sent its last, answers each
/// on its own task, and ends once every answer is out. A client that goes away (or a
/// broken stream) drops the tasks, which cancels the dispatcher's.
pub fn serve(
    state: web::Data<OipState>,
    tenant: Arc<str>,
    mut requests: Streaming<pb::ModelInferRequest>,
) -> ResponseStream {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        let mut running = JoinSet::new();
        loop {
            tokio::select! {
                next = requests.message() => match next {
                    Ok(Some(request)) => {
                        running.spawn(answer(state.clone(), tenant.clone(), request, tx.clone()));
                    }
                    Ok(None) => break,
                    Err(status) => {
                        tracing::info!(%status, "gRPC stream broken; cancelling its requests");
                        return;
                    }
                },
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = tx.closed() => return,
            }
        }
        // The client sent its last request: answer those in flight, unless it goes away.
        loop {
            tokio::select! {
                done = running.join_next() => if done.is_none() { return },
                () = tx.closed() => return,
            }
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|response| (Ok(response), rx))
    }))
}

/// Who a response answers.
#[derive(Debug, Clone)]
struct Reply {
    model: String,
    id: String,
}

impl Reply {
    fn response(&self, value: Value, last: bool) -> pb::ModelStreamInferResponse {
        let (outputs, raw) = outputs_of(value);
        let mut response = pb::ModelInferResponse {
            model_name: self.model.clone(),
            model_version: super::VERSION.to_owned(),
            id: self.id.clone(),
            outputs,
            raw_output_contents: raw,
            ..Default::default()
        };
        mark_final(&mut response, last);
        stream_response(response)
    }

    fn error(&self, error: &OipError) -> pb::ModelStreamInferResponse {
        pb::ModelStreamInferResponse {
            error_message: error.message.clone(),
            // As Triton does: the request's id, so a client can tell which one failed.
            infer_response: Some(pb::ModelInferResponse {
                model_name: self.model.clone(),
                model_version: super::VERSION.to_owned(),
                id: self.id.clone(),
                ..Default::default()
            }),
        }
    }
}

fn mark_final(response: &mut pb::ModelInferResponse, last: bool) {
    let flag = pb::InferParameter {
        parameter_choice: Some(ParameterChoice::BoolParam(last)),
    };
    response.parameters.insert(FINAL.to_owned(), flag);
}

fn stream_response(response: pb::ModelInferResponse) -> pb::ModelStreamInferResponse {
    pb::ModelStreamInferResponse {
        error_message: String::new(),
        infer_response: Some(response),
    }
}

fn flag(parameters: &HashMap<String, pb::InferParameter>, key: &str) -> bool {
    matches!(
        parameters
            .get(key)
            .and_then(|p| p.parameter_choice.as_ref()),
        Some(ParameterChoice::BoolParam(true))
    )
}

/// Answers one request on the stream; gives up when the client is gone.
async fn answer(
    state: web::Data<OipState>,
    tenant: Arc<str>,
    request: pb::ModelInferRequest,
    tx: mpsc::Sender<pb::ModelStreamInferResponse>,
) {
    let reply = Reply {
        model: request.model_name.clone(),
        id: request.id.clone(),
    };
    let answered = match decoupled(&state, &request).await {
        Ok(true) => stream_generate(&state, tenant, request, &reply, &tx).await,
        Ok(false) => match infer_once(&state, tenant, request, &reply).await {
            Ok(response) => Ok(tx.send(response).await.is_ok()),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Err(error) = answered {
        // A closed stream has nobody left to tell.
        let _ = tx.send(reply.error(&error)).await;
    }
}

/// Whether the request's model is a decoupled (`generate`) one: not in the model
/// repository, and a worker of task type `generate` is connected.
async fn decoupled(state: &OipState, request: &pb::ModelInferRequest) -> Result<bool, OipError> {
    version_check(&request.model_name, &request.model_version)?;
    if repository_dir(state, &request.model_name).is_some() {
        return Ok(false);
    }
    let task_type = GENERATE.to_owned();
    Ok(state.app.registry.send(RunsTaskType { task_type }).await?)
}

/// A model of the repository: one response, the inference result, final.
async fn infer_once(
    state: &OipState,
    tenant: Arc<str>,
    mut request: pb::ModelInferRequest,
    reply: &Reply,
) -> Result<pb::ModelStreamInferResponse, OipError> {
    let call = InferCall {
        model: request.model_name.clone(),
        inputs: inputs(&mut request)?,
        outputs: request.outputs.iter().map(|o| o.name.clone()).collect(),
        tenant,
    };
    let output = infer(state, call).await?;
    let mut response = infer_response(reply.model.clone(), reply.id.clone(), output);
    mark_final(&mut response, true);
    Ok(stream_response(response))
}

/// A decoupled model: the `generate` task's chunks, each a response, then the final
/// response. `Ok(false)` when the client went away.
async fn stream_generate(
    state: &web::Data<OipState>,
    tenant: Arc<str>,
    mut request: pb::ModelInferRequest,
    reply: &Reply,
    tx: &mpsc::Sender<pb::ModelStreamInferResponse>,
) -> Result<bool, OipError> {
    let empty_final = flag(&request.parameters, EMPTY_FINAL);
    let task = NewTask {
        task_id: state.next_task_id(),
        task_type: GENERATE.to_owned(),
        label: reply.model.clone(),
        parameters_json: task_parameters(&mut request)?,
        deadline: None,
        tenant,
    };
    let events = submit_streaming(state.app.clone(), task, framing(reply)).await?;
    let mut events = Box::pin(events);
    while let Some(piece) = events.next().await {
        let Ok(piece) = piece;
        let response = match piece {
            Piece::Send(response) => response,
            Piece::EmptyFinal(_) if !empty_final => return Ok(true),
            Piece::EmptyFinal(response) => response,
            Piece::Failed(error) => return Err(error),
        };
        let last = response
            .infer_response
            .as_ref()
            .is_some_and(|r| flag(&r.parameters, FINAL));
        if tx.send(response).await.is_err() {
            return Ok(false);
        }
        if last {
            return Ok(true);
        }
    }
    // The stream ended without the task's final view: only a drain lets go of it.
    Err(OipError::new(
        ErrorCode::ShuttingDown,
        "the server is shutting down; the task runs after the restart",
    ))
}

/// What a decoupled request's stream gives.
enum Piece {
    Send(pb::ModelStreamInferResponse),
    /// The final response with no data: sent only when asked for.
    EmptyFinal(pb::ModelStreamInferResponse),
    Failed(OipError),
}

fn framing(reply: &Reply) -> Framing<Piece> {
    let on_chunk = reply.clone();
    let on_result = reply.clone();
    Framing {
        chunk: Box::new(move |json| {
            let value = serde_json::from_slice(json).unwrap_or(Value::Null);
            Piece::Send(on_chunk.response(value, false))
        }),
        result: Box::new(move |view, sent| Some(final_piece(&on_result, view, sent))),
    }
}

fn final_piece(reply: &Reply, view: &TaskView, sent: u64) -> Piece {
    match view.status {
        TaskStatus::Completed if sent == 0 => {
            let result = view
                .result
                .as_ref()
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null);
            Piece::Send(reply.response(result, true))
        }
        TaskStatus::Completed => {
            Piece::EmptyFinal(reply.response(Value::Object(Default::default()), true))
        }
        _ => Piece::Failed(failure(view)),
    }
}
