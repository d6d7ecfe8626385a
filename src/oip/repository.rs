//! The model repository extension: `POST /v2/repository/index`, `.../models/{m}/load`
//! (with or without model files in `parameters`) and `.../unload`. Loading with files
//! installs them as `/upload-model` does; where a model runs stays the dispatcher's choice,
//! so loading makes a model available and unloading makes it unavailable to this API.

use std::collections::BTreeSet;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::OipError;
use super::models::describe;
use super::OipState;
use crate::actors::messages::ListLabels;
use crate::repository::{CONFIG_FILE, MODEL_FILE, MODEL_FILES, TOKENIZER_FILE};

/// The body of `POST /v2/repository/index`; may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IndexRequest {
    #[serde(default)]
    pub ready: bool,
}

/// One entry of the repository index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndexEntry {
    pub name: String,
    pub version: String,
    #[schema(value_type = String)]
    pub state: &'static str,
    pub reason: String,
}

/// The body of `load` and `unload`; may be empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ModelRequest {
    /// `file:<path>`: a base64 model file (`model.onnx`, `tokenizer.json`, `model.toml`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
}

fn parse_body<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OipError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| OipError::bad_request(format!("the request body is not valid: {e}")))
}

async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &OipState,
) -> Result<web::Bytes, OipError> {
    Ok(crate::app::body::read(req, payload, state.app.config.api.max_body_bytes).await?)
}

/// Every model of the repository and every label a worker holds, with its state.
#[utoipa::path(
    post,
    path = "/v2/repository/index",
    tag = "inference",
    request_body(content = Option<IndexRequest>, content_type = "application/json", description = "May be empty"),
    responses(
        (status = 200, description = "The repository index", body = Vec<IndexEntry>),
        (status = 400, description = "The body is not valid", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = super::error::ErrorResponse),
        (status = 408, description = "The body was not received in time", body = super::error::ErrorResponse),
        (status = 413, description = "The body is too large", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error", body = super::error::ErrorResponse),
    ),
    security((), ("bearer" = []))
)]
pub async fn index(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    state.app.clients.authorize(&req)?;
    let request: IndexRequest = parse_body(&read_body(&req, payload, &state).await?)?;
    Ok(HttpResponse::Ok().json(index_entries(&state, request.ready).await?))
}

/// The repository index: every model of the repository and every label a worker holds.
pub async fn index_entries(
    state: &OipState,
    ready_only: bool,
) -> Result<Vec<IndexEntry>, OipError> {
    let mut names: BTreeSet<String> = state
        .app
        .registry
        .send(ListLabels)
        .await?
        .into_keys()
        .collect();
    if let Some(repository) = state.app.repository.clone() {
        let labels = web::block(move || repository.labels())
            .await
            .map_err(|e| OipError::internal(format!("blocking task failed: {e}")))?;
        names.extend(labels);
    }
    let entries: Vec<IndexEntry> = names
        .into_iter()
        .map(|name| {
            let ready = state.is_ready(&name);
            IndexEntry {
                state: if ready { "READY" } else { "UNAVAILABLE" },
                reason: if ready {
                    String::new()
                } else {
                    "unloaded".into()
                },
                version: super::VERSION.to_owned(),
                name,
            }
        })
        .filter(|e| !ready_only || e.state == "READY")
        .collect();
    Ok(entries)
}

/// Makes a model available again, first installing the files it was sent with.
#[utoipa::path(
    post,
    path = "/v2/repository/models/{model}/load",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label)")),
    request_body(content = Option<ModelRequest>, content_type = "application/json",
        description = "May be empty; `file:<path>` parameters install model files first"),
    responses(
        (status = 200, description = "The model is available (no body)"),
        (status = 400, description = "The body is not valid", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = super::error::ErrorResponse),
        (status = 404, description = "Unknown model (and no files given)", body = super::error::ErrorResponse),
        (status = 408, description = "The body was not received in time", body = super::error::ErrorResponse),
        (status = 409, description = "No model repository, or an upload of the model is in progress", body = super::error::ErrorResponse),
        (status = 413, description = "The body is too large", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error", body = super::error::ErrorResponse),
        (status = 422, description = "Invalid model name, or the files are not a usable model", body = super::error::ErrorResponse),
        (status = 503, description = "ONNX Runtime unavailable, or the model's model.toml is unusable", body = super::error::ErrorResponse),
    ),
    security((), ("bearer" = []))
)]
pub async fn load(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    state.app.clients.authorize(&req)?;
    let model = path.into_inner();
    let request: ModelRequest = parse_body(&read_body(&req, payload, &state).await?)?;
    load_model(&state, &model, model_files(&request.parameters)?).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Installs `files` (when given) as model `model`, then makes it available.
pub async fn load_model(
    state: &OipState,
    model: &str,
    files: Vec<(&'static str, Vec<u8>)>,
) -> Result<(), OipError> {
    if !files.is_empty() {
        crate::app::models::install_files(&state.app, model, files)
            .await
            .map_err(OipError::from)?;
        state.forget(model);
    }
    describe(state, model).await?;
    state.set_ready(model, true);
    tracing::info!(model = %model, "model loaded through the v2 API");
    Ok(())
}

/// Makes a known model unavailable.
pub async fn unload_model(state: &OipState, model: &str) -> Result<(), OipError> {
    describe(state, model).await?;
    state.set_ready(model, false);
    tracing::info!(model = %model, "model unloaded through the v2 API");
    Ok(())
}

/// Makes a model unavailable to this API until it is loaded again.
#[utoipa::path(
    post,
    path = "/v2/repository/models/{model}/unload",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label)")),
    request_body(content = Option<ModelRequest>, content_type = "application/json", description = "May be empty"),
    responses(
        (status = 200, description = "The model is unavailable until loaded again (no body)"),
        (status = 400, description = "The body is not valid", body = super::error::ErrorResponse),
        (status = 401, description = "Missing or wrong client token", body = super::error::ErrorResponse),
        (status = 404, description = "Unknown model", body = super::error::ErrorResponse),
        (status = 408, description = "The body was not received in time", body = super::error::ErrorResponse),
        (status = 413, description = "The body is too large", body = super::error::ErrorResponse),
        (status = 500, description = "Internal error", body = super::error::ErrorResponse),
        (status = 503, description = "The model's model.toml is unusable", body = super::error::ErrorResponse),
    ),
    security((), ("bearer" = []))
)]
pub async fn unload(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    state.app.clients.authorize(&req)?;
    let model = path.into_inner();
    let _: ModelRequest = parse_body(&read_body(&req, payload, &state).await?)?;
    unload_model(&state, &model).await?;
    Ok(HttpResponse::Ok().finish())
}

/// The `file:<path>` parameters, decoded: each must name a file of a model folder
/// (`model.onnx`, `tokenizer.json`, `model.toml`, optionally under a version folder).
/// `config` (a Triton model configuration) is accepted and not used.
pub fn model_files(
    parameters: &Map<String, Value>,
) -> Result<Vec<(&'static str, Vec<u8>)>, OipError> {
    let mut files = Vec::new();
    for (key, value) in parameters {
        let Some(known) = file_target(key)? else {
            continue;
        };
        let encoded = value.as_str().ok_or_else(|| {
            OipError::bad_request(format!("parameter '{key}' must be a base64 string"))
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| OipError::bad_request(format!("parameter '{key}' is not base64: {e}")))?;
        files.push((known, bytes));
    }
    check_files(files)
}

/// The model folder file a `file:<path>` parameter names; `None` for other parameters.
pub fn file_target(key: &str) -> Result<Option<&'static str>, OipError> {
    let Some(path) = key.strip_prefix("file:") else {
        return Ok(None);
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    MODEL_FILES
        .into_iter()
        .find(|f| *f == name)
        .map(Some)
        .ok_or_else(|| {
            OipError::bad_request(format!(
                "parameter '{key}': a model folder holds only {MODEL_FILE}, {TOKENIZER_FILE} and {CONFIG_FILE}"
            ))
        })
}

/// Model files must name each file once and include the model.
pub fn check_files(
    files: Vec<(&'static str, Vec<u8>)>,
) -> Result<Vec<(&'static str, Vec<u8>)>, OipError> {
    for (i, (name, _)) in files.iter().enumerate() {
        if files[..i].iter().any(|(f, _)| f == name) {
            return Err(OipError::bad_request(format!("{name} is given twice")));
        }
    }
    if !files.is_empty() && !files.iter().any(|(f, _)| *f == MODEL_FILE) {
        return Err(OipError::bad_request(format!(
            "model files must include {MODEL_FILE}"
        )));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn model_files_take_known_names_under_a_version_folder() {
        let files = model_files(&params(serde_json::json!({
            "config": "{}", "file:1/model.onnx": "AAE=", "file:model.toml": "eA=="
        })))
        .unwrap();
        assert_eq!(
            files,
            vec![(MODEL_FILE, vec![0, 1]), (CONFIG_FILE, b"x".to_vec())]
        );
    }

    #[test]
    fn model_files_refuse_other_names_bad_base64_and_no_model() {
        for bad in [
            serde_json::json!({"file:1/weights.bin": "AA=="}),
            serde_json::json!({"file:model.onnx": "not base64!"}),
            serde_json::json!({"file:model.onnx": 3}),
            serde_json::json!({"file:model.toml": "eA=="}),
        ] {
            assert_eq!(model_files(&params(bad)).unwrap_err().status(), 400);
        }
    }
}
