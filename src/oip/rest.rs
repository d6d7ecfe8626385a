//! The REST resources of the protocol: health, server and model metadata, model
//! readiness and inference. Handlers decode, call the core, and encode.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::codec::{self, InferRequest, InferResponse, HEADER_LENGTH};
use super::error::OipError;
use super::infer::{infer, InferCall};
use super::models::{describe, ModelMetadata};
use super::responses::{InferErrors, ModelErrors, RouteErrors};
use super::OipState;
use crate::actors::messages::ListWorkers;

/// `$metadata_server_response`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerMetadata {
    pub name: String,
    pub version: String,
    pub extensions: Vec<String>,
}

pub fn server_metadata_value() -> ServerMetadata {
    ServerMetadata {
        name: "smart-routing".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        extensions: vec![
            "binary_tensor_data".to_owned(),
            "generate".to_owned(),
            "model_repository".to_owned(),
        ],
    }
}

/// `{"live": bool}`, the protocol's server-live response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerLive {
    pub live: bool,
}

/// `{"ready": bool}`, the protocol's server-ready response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerReady {
    pub ready: bool,
}

/// Live while the process answers.
#[utoipa::path(
    get,
    path = "/v2/health/live",
    tag = "inference",
    responses((status = 200, description = "The server is live", body = ServerLive))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(ServerLive { live: true })
}

/// Whether the server takes work (it is not draining) and a worker is connected to run it.
pub async fn server_ready_value(state: &OipState) -> Result<bool, OipError> {
    if state.app.is_draining() {
        return Ok(false);
    }
    Ok(!state.app.registry.send(ListWorkers).await?.is_empty())
}

/// Ready (200) when a worker is connected to run inference; 400 otherwise, as Triton does.
/// The body is the protocol's `{"ready": bool}` (KServe's client reads it; Triton's
/// ignores it).
#[utoipa::path(
    get,
    path = "/v2/health/ready",
    tag = "inference",
    responses(
        (status = 200, description = "Not draining, and a worker is connected", body = ServerReady),
        (status = 400, description = "Draining, or no worker is connected (status as Triton answers)", body = ServerReady),
        (status = 500, description = "Internal error", body = super::error::ErrorResponse),
    )
)]
pub async fn ready(state: web::Data<OipState>) -> Result<HttpResponse, OipError> {
    Ok(if server_ready_value(&state).await? {
        HttpResponse::Ok().json(ServerReady { ready: true })
    } else {
        HttpResponse::BadRequest().json(ServerReady { ready: false })
    })
}

#[utoipa::path(
    get,
    path = "/v2",
    tag = "inference",
    responses((status = 200, description = "Server metadata", body = ServerMetadata))
)]
pub async fn server_metadata() -> HttpResponse {
    HttpResponse::Ok().json(server_metadata_value())
}

/// The model name of `/v2/models/{m}` and `/v2/models/{m}/versions/{v}` routes; only
/// version `1` exists.
pub(super) fn model_of(req: &HttpRequest) -> Result<String, OipError> {
    let model = req.match_info().get("model").unwrap_or_default().to_owned();
    match req.match_info().get("version") {
        Some(v) if v != super::VERSION => Err(OipError::not_found(format!(
            "model '{model}' has no version '{v}' (only '{}')",
            super::VERSION
        ))),
        _ => Ok(model),
    }
}

#[utoipa::path(
    get,
    path = "/v2/models/{model}",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label)")),
    responses(
        (status = 200, description = "Model metadata", body = ModelMetadata),
        RouteErrors,
        ModelErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn model_metadata(
    req: HttpRequest,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    state.app.clients.authorize(&req)?;
    let desc = describe(&state, &model_of(&req)?).await?;
    Ok(HttpResponse::Ok().json(desc.metadata()))
}

/// 200 when the model is known and not unloaded, 400 otherwise (404 when unknown).
#[utoipa::path(
    get,
    path = "/v2/models/{model}/ready",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label)")),
    responses(
        (status = 200, description = "The model is ready (no body)"),
        (status = 400, description = "The model was unloaded (no body)"),
        RouteErrors,
        ModelErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn model_ready(
    req: HttpRequest,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    state.app.clients.authorize(&req)?;
    let model = model_of(&req)?;
    describe(&state, &model).await?;
    Ok(if state.is_ready(&model) {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::BadRequest().finish()
    })
}

/// Runs one inference request as a task of the model's label. Triton's binary tensor data
/// extension (`Inference-Header-Content-Length`) is accepted too; it is not modelled here.
#[utoipa::path(
    post,
    path = "/v2/models/{model}/infer",
    tag = "inference",
    params(("model" = String, Path, description = "Model name (= label)")),
    request_body(content = InferRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The inference response (application/octet-stream with \
            Inference-Header-Content-Length when a binary output was asked for)", body = InferResponse),
        RouteErrors,
        InferErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn model_infer(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    let tenant = state.app.clients.authorize(&req)?;
    let model = model_of(&req)?;
    let body = crate::app::body::read(&req, payload, state.app.config.api.max_body_bytes).await?;
    let header_length = match req.headers().get(HEADER_LENGTH) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    OipError::bad_request(format!("{HEADER_LENGTH} must be a byte count"))
                })?,
        ),
    };
    let decoded = codec::decode(&body, header_length)?;
    let call = InferCall {
        model: model.clone(),
        inputs: decoded.inputs,
        outputs: decoded
            .request
            .outputs
            .iter()
            .map(|o| o.name.clone())
            .collect(),
        tenant,
    };
    let output = infer(&state, call).await?;
    let binary = codec::wants_binary(&decoded.request, &output.name);
    let encoded = codec::encode(model, decoded.request.id.clone(), vec![(output, binary)])?;
    let mut response = HttpResponse::Ok();
    match encoded.header_length {
        Some(n) => response
            .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
            .insert_header((HEADER_LENGTH, n.to_string())),
        None => response.insert_header((header::CONTENT_TYPE, "application/json")),
    };
    Ok(response.body(encoded.body))
}

#[utoipa::path(
    get,
    path = "/v2/models/{model}/versions/{version}",
    tag = "inference",
    params(
        ("model" = String, Path, description = "Model name (= label)"),
        ("version" = String, Path, description = "Model version; only `1` exists"),
    ),
    responses(
        (status = 200, description = "Model metadata", body = ModelMetadata),
        RouteErrors,
        ModelErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn version_metadata(
    req: HttpRequest,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    model_metadata(req, state).await
}

#[utoipa::path(
    get,
    path = "/v2/models/{model}/versions/{version}/ready",
    tag = "inference",
    params(
        ("model" = String, Path, description = "Model name (= label)"),
        ("version" = String, Path, description = "Model version; only `1` exists"),
    ),
    responses(
        (status = 200, description = "The model is ready (no body)"),
        (status = 400, description = "The model was unloaded (no body)"),
        RouteErrors,
        ModelErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn version_ready(
    req: HttpRequest,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    model_ready(req, state).await
}

/// `/v2/models/{model}/infer` for version `1`.
#[utoipa::path(
    post,
    path = "/v2/models/{model}/versions/{version}/infer",
    tag = "inference",
    params(
        ("model" = String, Path, description = "Model name (= label)"),
        ("version" = String, Path, description = "Model version; only `1` exists"),
    ),
    request_body(content = InferRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The inference response (application/octet-stream with \
            Inference-Header-Content-Length when a binary output was asked for)", body = InferResponse),
        RouteErrors,
        InferErrors,
    ),
    security((), ("bearer" = []))
)]
pub async fn version_infer(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<OipState>,
) -> Result<HttpResponse, OipError> {
    model_infer(req, payload, state).await
}
