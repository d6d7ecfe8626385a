//! `POST /upload-model` and `GET /models`: the model repository over HTTP. Decodes the
//! request (JSON naming a path, or the ONNX file as the body), calls `app::models`, and
//! shapes its answer and errors.

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::models::{self, Source};
use crate::app::{body, ApiError, AppState};
use crate::engine::ModelInfo;

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
        (status = 400, description = "Malformed body", body = super::schema::ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = super::schema::ErrorResponse),
        (status = 409, description = "No model repository, the label exists, or an upload of it is in progress", body = super::schema::ErrorResponse),
        (status = 413, description = "Too large", body = super::schema::ErrorResponse),
        (status = 415, description = "Neither application/json nor application/octet-stream", body = super::schema::ErrorResponse),
        (status = 422, description = "Invalid field, or not a usable model", body = super::schema::ErrorResponse),
        (status = 500, description = "Internal error", body = super::schema::ErrorResponse),
        (status = 503, description = "ONNX Runtime unavailable", body = super::schema::ErrorResponse),
    )
)]
pub async fn upload_model(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.clients.authorize(&req)?;
    models::repository(&state)?;
    let content_type = req.content_type().to_owned();
    let (label, overwrite, source) = match content_type.as_str() {
        "application/json" => {
            let bytes = body::read(&req, payload, state.config.api.max_body_bytes).await?;
            let upload: PathUpload = body::decode(&bytes)?;
            if !upload.path.is_absolute() {
                return Err(ApiError::invalid(
                    "path",
                    "must be an absolute path on the server",
                ));
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
        other => return Err(models::unsupported_media_type(other)),
    };
    let (info, replaced) = models::upload(&state, &req, &label, overwrite, source).await?;
    Ok(registered(&label, &info, replaced))
}

#[utoipa::path(
    get,
    path = "/models",
    tag = "models",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The repository's models", body = ModelList),
        (status = 401, description = "Missing or wrong client token", body = super::schema::ErrorResponse),
        (status = 409, description = "No model repository configured", body = super::schema::ErrorResponse),
        (status = 500, description = "Internal error", body = super::schema::ErrorResponse),
    )
)]
pub async fn list_models(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.clients.authorize(&req)?;
    let models = models::list(&state)
        .await?
        .into_iter()
        .map(|listed| {
            let (task_types, error) = match listed.task_types {
                Ok(task_types) => (task_types, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            ModelEntry {
                label: listed.entry.label,
                task_types,
                files: listed.entry.files,
                bytes: listed.entry.bytes,
                error,
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(ModelList { models }))
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
