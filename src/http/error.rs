//! ApiError: every error a client can get, each with a stable code, one JSON shape
//! (`{"error":{"code","message"}}`) and the right status.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::actors::messages::SubmitError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Malformed(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    UnknownLabel(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: String,
        retry_after_s: u64,
    },
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// 503 `shutting_down` with `Retry-After`: the server is draining.
    pub fn shutting_down(message: impl Into<String>) -> Self {
        ApiError::Unavailable {
            code: "shutting_down",
            message: message.into(),
            retry_after_s: 5,
        }
    }

    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_request",
            ApiError::Invalid { .. } => "invalid_field",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::NotFound(_) => "not_found",
            ApiError::UnknownLabel(_) => "unknown_label",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Timeout(_) => "request_timeout",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Unavailable { code, .. } => code,
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) | ApiError::UnknownLabel(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::Unavailable { retry_after_s, .. } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
        }
        response.json(json!({ "error": { "code": self.code(), "message": self.to_string() } }))
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Duplicate(_) => ApiError::Conflict(error.to_string()),
            SubmitError::NoCapableWorker(_) => ApiError::Unavailable {
                code: "no_capable_worker",
                message: error.to_string(),
                retry_after_s: 5,
            },
            SubmitError::QueueFull(_) => ApiError::Unavailable {
                code: "queue_full",
                message: error.to_string(),
                retry_after_s: 1,
            },
            SubmitError::ShuttingDown => ApiError::shutting_down(error.to_string()),
            SubmitError::UnknownLabel(_) => ApiError::UnknownLabel(error.to_string()),
            SubmitError::DeadlineUnmeetable { .. } => ApiError::Unavailable {
                code: "deadline_unmeetable",
                message: error.to_string(),
                retry_after_s: 1,
            },
        }
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(error: actix::MailboxError) -> Self {
        ApiError::Internal(format!("internal actor unavailable: {error}"))
    }
}
