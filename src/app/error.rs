//! ApiError: every error a client can get, each with a stable code; each transport gives
//! it its own shape (`http::error`, `oip::error`).

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
