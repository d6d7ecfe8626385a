//! Triton's generate extension: `POST /v2/models/{model}/generate` answers one JSON object,
//! `/generate_stream` answers Server-Sent Events, one `data:` object per chunk. Served by
//! any worker that registers the task type `generate` (a Python worker included, no ONNX
//! file needed): the request's JSON object is the task's parameters and the model its
//! label. Each chunk, and the result, is a JSON object of output fields (e.g.
//! `{"text_output": "..."}`), to which the model's name and version are added; a value
//! that is not an object becomes `{"output": value}`.

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::error::OipError;
use super::infer::run;
use super::responses::{InferErrors, RouteErrors};
use super::rest::model_of;
use super::OipState;
use crate::actors::messages::NewTask;
use crate::app::submit::{event_stream, submit_streaming, Framing};
use crate::tasks::{Status, TaskView};

/// The task type a worker registers to serve the generate extension.
pub const GENERATE: &str = "generate";

/// `value` with the model's name and version.
fn with_model(model: &str, value: Value) -> Value {
    let mut object = match value {
        Value::Object(object) => object,
        other => Map::from_iter([("output".to_owned(), other)]),
    };
    object.insert("model_name".to_owned(), model.into());
    object.insert("model_version".to_owned(), super::VERSION.into());
    Value::Object(object)
}

/// The generate task a request asks for: its body, a JSON object, as parameters.
async fn generate_task(
    req: &HttpRequest,
    payload: web::Payload,
    state: &OipState,
) -> Result<NewTask, OipError> {
    let tenant = state.app.clients.authorize(req)?;
    let model = model_of(req)?;
    let api = &state.app.config.api;
    let body = crate::app::body::read(req, payload, api.max_body_bytes).await?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| OipError::bad_request("the request body is not UTF-8"))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(_)) => {}
        Ok(_) => {
            return Err(OipError::bad_request(
                "the request body must be a JSON object",
            ))
        }
        Err(e) => {
            return Err(OipError::bad_request(format!(
                "the request body is not JSON: {e}"
            )))
        }
    }
    if crate::app::body::nests_deeper_than(&text, api.max_json_depth) {
        return Err(OipError::bad_request(format!(
            "the request nests deeper than {} levels",
            api.max_json_depth
        )));
    }
    Ok(NewTask {
        task_id: state.next_task_id(),
        task_type: GENERATE.to_owned(),
        label: model,
        parameters_json: text,
        deadline: None,
        tenant,
    })
}

/// The result of a completed task as a JSON value.
fn result_of(view: &TaskView) -> Value {
    view.result
        .as_ref()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

/// One generate request, one answer: the worker's result with the model's name.
#[utoipa::path(
    post,
    path = "/v2/models/{model}/generate",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label); served by workers of task type `generate`")),
    request_body(content = Object, content_type = "application/json", description = "Inputs and parameters, e.g. {\"text_input\": \"...\", \"parameters\": {}}"),
    responses(
        (status = 200, description = "The worker's result fields with model_name and model_version", body = Object),
        RouteErrors,
        InferErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn generate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    let task = generate_task(&req, payload, &state).await?;
    let model = task.label.clone();
    let view = run(&state, task).await?;
    Ok(HttpResponse::Ok().json(with_model(&model, result_of(&view))))
}

/// One generate request, a stream of answers: one `data:` event per chunk; a task that
/// sends no chunks answers its result as the one event; a failure ends the stream with
/// `data: {"error": "..."}`.
#[utoipa::path(
    post,
    path = "/v2/models/{model}/generate_stream",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label); served by workers of task type `generate`")),
    request_body(content = Object, content_type = "application/json", description = "As for generate"),
    responses(
        (status = 200, description = "`data: {...}` per chunk (with model_name and model_version)", body = String, content_type = "text/event-stream"),
        RouteErrors,
        InferErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn generate_stream(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    let task = generate_task(&req, payload, &state).await?;
    let model = task.label.clone();
    let chunk_model = model.clone();
    let framing = Framing {
        chunk: Box::new(move |json| {
            let value = serde_json::from_slice(json).unwrap_or(Value::Null);
            data(&with_model(&chunk_model, value))
        }),
        result: Box::new(move |view, sent| match view.status {
            Status::Completed if sent == 0 => Some(data(&with_model(&model, result_of(view)))),
            Status::Completed => None,
            _ => {
                let message = view
                    .error
                    .as_ref()
                    .map_or("the task did not complete", |e| e.message.as_str());
                Some(data(&serde_json::json!({ "error": message })))
            }
        }),
    };
    let events = submit_streaming(state.app.clone(), task, framing).await?;
    Ok(event_stream(events))
}

/// One `data:` event (serialized JSON has no raw line breaks).
fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}
