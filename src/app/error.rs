//! ApiError: every error a client can get, as a stable code (`ErrorCode`, which gives the
//! status), a message, and how long to wait before retrying when that can help. Each
//! transport gives it its own shape (`http::error`, `oip::error`).

use crate::actors::messages::SubmitError;
use crate::error_code::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), when trying again can succeed.
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// A 503-class refusal: try again after `retry_after_s`.
    pub fn unavailable(code: ErrorCode, message: impl Into<String>, retry_after_s: u64) -> Self {
        Self {
            retry_after_s: Some(retry_after_s),
            ..Self::new(code, message)
        }
    }

    /// 503 `shutting_down` with `Retry-After`: the server is draining.
    pub fn shutting_down(message: impl Into<String>) -> Self {
        Self::unavailable(ErrorCode::ShuttingDown, message, 5)
    }

    /// 422 `invalid_field`: `field: reason`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Self::new(
            ErrorCode::InvalidField,
            format!("{field}: {}", reason.into()),
        )
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, message)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            ErrorCode::BodyTooLarge,
            format!("request body is larger than {limit} bytes"),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestTimeout, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        let message = error.to_string();
        match error {
            SubmitError::Duplicate(_) => ApiError::new(ErrorCode::Conflict, message),
            SubmitError::NoCapableWorker(_) => {
                ApiError::unavailable(ErrorCode::NoCapableWorker, message, 5)
            }
            SubmitError::QueueFull(_) => ApiError::unavailable(ErrorCode::QueueFull, message, 1),
            SubmitError::TenantLimit { .. } => {
                ApiError::unavailable(ErrorCode::TenantLimit, message, 1)
            }
            SubmitError::ShuttingDown => ApiError::shutting_down(message),
            SubmitError::UnknownLabel(_) => ApiError::new(ErrorCode::UnknownLabel, message),
            SubmitError::DeadlineUnmeetable { .. } => {
                ApiError::unavailable(ErrorCode::DeadlineUnmeetable, message, 1)
            }
        }
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(error: actix::MailboxError) -> Self {
        ApiError::internal(format!("internal actor unavailable: {error}"))
    }
}
