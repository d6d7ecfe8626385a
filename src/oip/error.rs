//! OipError: the Open Inference Protocol's error shape, `{"error": "<message>"}`. It
//! carries a stable code (`ErrorCode`); REST answers with the status this protocol gives
//! that code, gRPC with the code's own gRPC status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::app::ApiError;
use crate::error_code::ErrorCode;

/// An error as the protocol returns it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OipError {
    pub code: ErrorCode,
    pub message: String,
}

/// The body of every error on `/v2`: `{"error": "<message>"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = OipErrorResponse)]
pub struct ErrorResponse {
    pub error: String,
}

impl OipError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The request is malformed or does not fit the model (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    /// The unknown-model error every model route gives.
    pub fn unknown_model(name: &str) -> Self {
        Self::not_found(format!("unknown model '{name}'"))
    }

    /// The REST status: the code's own, except that a task that failed on the pool is the
    /// server's error (500, as Triton answers a failed model) and a cancelled one may be
    /// tried again (503).
    pub fn status(&self) -> StatusCode {
        let status = match self.code {
            ErrorCode::TaskFailed
            | ErrorCode::WorkerLost
            | ErrorCode::InvalidResult
            | ErrorCode::LoadFailed
            | ErrorCode::WorkerFault => 500,
            ErrorCode::Cancelled => 503,
            code => code.http_status(),
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl ResponseError for OipError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status()).json(ErrorResponse {
            error: self.message.clone(),
        })
    }
}

/// Any error of the application layer, with its code and message.
impl From<ApiError> for OipError {
    fn from(error: ApiError) -> Self {
        OipError::new(error.code, error.message)
    }
}

impl From<actix::MailboxError> for OipError {
    fn from(error: actix::MailboxError) -> Self {
        OipError::internal(format!("internal actor unavailable: {error}"))
    }
}
