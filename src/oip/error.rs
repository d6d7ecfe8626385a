//! OipError: the Open Inference Protocol's error shape, `{"error": "<message>"}`, with
//! the HTTP status (REST) or gRPC code (gRPC) that fits the failure.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error as the protocol returns it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OipError {
    pub status: StatusCode,
    pub message: String,
}

/// The body of every error on `/v2`: `{"error": "<message>"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = OipErrorResponse)]
pub struct ErrorResponse {
    pub error: String,
}

impl OipError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The request is malformed or does not fit the model (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The unknown-model error every model route gives.
    pub fn unknown_model(name: &str) -> Self {
        Self::not_found(format!("unknown model '{name}'"))
    }
}

impl ResponseError for OipError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorResponse {
            error: self.message.clone(),
        })
    }
}

/// Any error of the task API, in this protocol's shape and with its status.
impl From<crate::app::ApiError> for OipError {
    fn from(error: crate::app::ApiError) -> Self {
        OipError::new(error.status_code(), error.to_string())
    }
}

impl From<actix::MailboxError> for OipError {
    fn from(error: actix::MailboxError) -> Self {
        OipError::internal(format!("internal actor unavailable: {error}"))
    }
}
