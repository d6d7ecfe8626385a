//! The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, tonic) on its
//! own port: the same core as REST behind it, so the same label-aware routing. Inputs come
//! as raw contents (what Triton's client sends) or typed contents; the output goes back raw.
//! `ModelStreamInfer` is `grpc_stream`'s.

use std::net::SocketAddr;

use actix_web::web;
use tonic::{Request, Response, Status};

use super::codec::from_binary;
use super::error::OipError;
use super::infer::{infer, InferCall};
use super::models::describe;
use super::repository::{check_files, file_target, index_entries, load_model, unload_model};
use super::rest::{server_metadata_value, server_ready_value};
use super::tensor::{fp32_to_le, InputTensor, OutputTensor, TensorData, BYTES, FP32};
use super::OipState;
use crate::error_code::ErrorCode;

/// The generated types and server of `proto/inference/grpc_service.proto`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/inference.rs"));
}

use pb::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};

/// Binds `addr` now (so a taken port fails the start) and serves on the current runtime,
/// over TLS when `tls` is given; the address really bound.
pub fn start(
    addr: SocketAddr,
    state: web::Data<OipState>,
    tls: Option<tonic::transport::ServerTlsConfig>,
) -> std::io::Result<SocketAddr> {
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| std::io::Error::other(format!("TLS: {e}")))?;
    }
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    // TCP_NODELAY: small replies must not wait for the client's delayed ACK (Nagle).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let service =
        GrpcInferenceServiceServer::new(Service { state }).max_decoding_message_size(usize::MAX);
    actix_web::rt::spawn(async move {
        let served = builder.serve_with_incoming(service, incoming).await;
        if let Err(error) = served {
            tracing::error!(%error, "the gRPC service stopped");
        }
    });
    Ok(bound)
}

struct Service {
    state: web::Data<OipState>,
}

impl From<OipError> for Status {
    fn from(error: OipError) -> Self {
        Status::new(error.code.grpc_code(), error.message)
    }
}

impl Service {
    /// Checks `authorization: Bearer <token>` when the server has client tokens; the
    /// caller's tenant.
    fn authorize<T>(&self, request: &Request<T>) -> Result<std::sync::Arc<str>, Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.state
            .app
            .clients
            .check(authorization)
            .map_err(|_| Status::unauthenticated("missing or invalid bearer token"))
    }
}

pub(super) fn version_check(model: &str, version: &str) -> Result<(), OipError> {
    if version.is_empty() || version == super::VERSION {
        Ok(())
    } else {
        Err(OipError::not_found(format!(
            "model '{model}' has no version '{version}' (only '{}')",
            super::VERSION
        )))
    }
}

/// The request's raw input contents, taken out of it: none, or one per input.
pub(super) fn raw_contents(
    request: &mut pb::ModelInferRequest,
) -> Result<std::vec::IntoIter<Vec<u8>>, OipError> {
    let raw = std::mem::take(&mut request.raw_input_contents);
    if !raw.is_empty() && raw.len() != request.inputs.len() {
        return Err(OipError::bad_request(format!(
            "{} raw_input_contents for {} inputs",
            raw.len(),
            request.inputs.len()
        )));
    }
    Ok(raw.into_iter())
}

/// The request's inputs with their data, from raw contents or typed contents.
pub(super) fn inputs(request: &mut pb::ModelInferRequest) -> Result<Vec<InputTensor>, OipError> {
    let mut raw = raw_contents(request)?;
    request
        .inputs
        .iter_mut()
        .map(|input| {
            let data = match raw.next() {
                Some(bytes) => from_binary(&input.datatype, &input.name, &bytes)?,
                None => {
                    let contents = input.contents.take().unwrap_or_default();
                    match input.datatype.as_str() {
                        FP32 => TensorData::Fp32(contents.fp32_contents),
                        BYTES => TensorData::Bytes(contents.bytes_contents),
                        // Refused with the model's datatype by the core.
                        _ => TensorData::Fp32(Vec::new()),
                    }
                }
            };
            Ok(InputTensor {
                name: input.name.clone(),
                datatype: input.datatype.clone(),
                shape: input.shape.clone(),
                data,
            })
        })
        .collect()
}

/// The response carrying an inference's output tensor (raw FP32).
pub(super) fn infer_response(
    model_name: String,
    id: String,
    output: OutputTensor,
) -> pb::ModelInferResponse {
    pb::ModelInferResponse {
        model_name,
        model_version: super::VERSION.to_owned(),
        id,
        parameters: Default::default(),
        outputs: vec![pb::model_infer_response::InferOutputTensor {
            name: output.name,
            datatype: FP32.to_owned(),
            shape: output.shape,
            parameters: Default::default(),
            contents: None,
        }],
        raw_output_contents: vec![fp32_to_le(&output.data)],
    }
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<pb::ServerLiveRequest>,
    ) -> Result<Response<pb::ServerLiveResponse>, Status> {
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        let ready = server_ready_value(&self.state).await?;
        Ok(Response::new(pb::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        self.authorize(&request)?;
        let request = request.into_inner();
        version_check(&request.name, &request.version)?;
        let known = match describe(&self.state, &request.name).await {
            Ok(_) => true,
            Err(e) if e.code == ErrorCode::NotFound => false,
            Err(e) => return Err(e.into()),
        };
        let ready = known && self.state.is_ready(&request.name);
        Ok(Response::new(pb::ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        let meta = server_metadata_value();
        Ok(Response::new(pb::ServerMetadataResponse {
            name: meta.name,
            version: meta.version,
            extensions: meta.extensions,
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        self.authorize(&request)?;
        let request = request.into_inner();
        version_check(&request.name, &request.version)?;
        let meta = describe(&self.state, &request.name).await?.metadata();
        let tensors = |list: Vec<super::models::TensorMetadata>| {
            list.into_iter()
                .map(|t| pb::model_metadata_response::TensorMetadata {
                    name: t.name,
                    datatype: t.datatype,
                    shape: t.shape,
                })
                .collect()
        };
        Ok(Response::new(pb::ModelMetadataResponse {
            name: meta.name,
            versions: meta.versions,
            platform: meta.platform,
            inputs: tensors(meta.inputs),
            outputs: tensors(meta.outputs),
        }))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let tenant = self.authorize(&request)?;
        let mut request = request.into_inner();
        version_check(&request.model_name, &request.model_version)?;
        let call = InferCall {
            model: request.model_name.clone(),
            inputs: inputs(&mut request)?,
            outputs: request.outputs.iter().map(|o| o.name.clone()).collect(),
            tenant,
        };
        let output = infer(&self.state, call).await?;
        Ok(Response::new(infer_response(
            request.model_name,
            request.id,
            output,
        )))
    }

    type ModelStreamInferStream = super::grpc_stream::ResponseStream;

    async fn model_stream_infer(
        &self,
        request: Request<tonic::Streaming<pb::ModelInferRequest>>,
    ) -> Result<Response<Self::ModelStreamInferStream>, Status> {
        let tenant = self.authorize(&request)?;
        let requests = request.into_inner();
        Ok(Response::new(super::grpc_stream::serve(
            self.state.clone(),
            tenant,
            requests,
        )))
    }

    async fn repository_index(
        &self,
        request: Request<pb::RepositoryIndexRequest>,
    ) -> Result<Response<pb::RepositoryIndexResponse>, Status> {
        self.authorize(&request)?;
        let entries = index_entries(&self.state, request.into_inner().ready).await?;
        let models = entries
            .into_iter()
            .map(|e| pb::repository_index_response::ModelIndex {
                name: e.name,
                version: e.version,
                state: e.state.to_owned(),
                reason: e.reason,
            })
            .collect();
        Ok(Response::new(pb::RepositoryIndexResponse { models }))
    }

    async fn repository_model_load(
        &self,
        request: Request<pb::RepositoryModelLoadRequest>,
    ) -> Result<Response<pb::RepositoryModelLoadResponse>, Status> {
        use pb::model_repository_parameter::ParameterChoice;
        self.authorize(&request)?;
        let request = request.into_inner();
        let mut files = Vec::new();
        for (key, value) in request.parameters {
            let Some(name) = file_target(&key)? else {
                continue;
            };
            match value.parameter_choice {
                Some(ParameterChoice::BytesParam(bytes)) => files.push((name, bytes)),
                _ => {
                    return Err(Status::invalid_argument(format!(
                        "parameter '{key}' must hold the file's bytes"
                    )))
                }
            }
        }
        load_model(&self.state, &request.model_name, check_files(files)?).await?;
        Ok(Response::new(pb::RepositoryModelLoadResponse {}))
    }

    async fn repository_model_unload(
        &self,
        request: Request<pb::RepositoryModelUnloadRequest>,
    ) -> Result<Response<pb::RepositoryModelUnloadResponse>, Status> {
        self.authorize(&request)?;
        unload_model(&self.state, &request.into_inner().model_name).await?;
        Ok(Response::new(pb::RepositoryModelUnloadResponse {}))
    }
}
