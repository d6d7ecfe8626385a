//! The stable error codes clients see, in one enum: in `{"error":{"code",...}}` answers,
//! in a failed task's view, and in the store. Each has one HTTP status and one gRPC code,
//! so a transport never matches code strings to choose a status. Depends on nothing else
//! in the crate.
//!
//! To add a code: a variant here (its serialized name is the code), its status and gRPC
//! code below, and a line in the README's table of statuses.

use serde::{Deserialize, Serialize};

/// Every stable error code. Serialized in snake case (`DeadlineExceeded` is
/// `"deadline_exceeded"`); OpenAPI lists them as an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The request itself.
    /// The body is not JSON, or the request cannot be read.
    MalformedRequest,
    /// A field is missing, of the wrong type or out of bounds.
    InvalidField,
    BodyTooLarge,
    /// The body did not arrive in time.
    RequestTimeout,
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    HeaderTooLarge,
    Unauthorized,
    /// The token is valid but not for what it was presented for (a worker id not its own).
    Forbidden,
    /// A task with this id is still queued or running.
    Conflict,
    /// No connected worker can load the label.
    UnknownLabel,

    /// The tenant has `max_in_flight` tasks queued or running (429 with Retry-After).
    TenantLimit,

    // Capacity: retry later (503 with Retry-After).
    NoCapableWorker,
    QueueFull,
    ShuttingDown,
    StoreUnavailable,
    DeadlineUnmeetable,

    // How a task ended, in its view.
    /// The worker reported the task failed.
    TaskFailed,
    /// Its workers were lost (or it ran past its time limit) `max_attempts` times.
    WorkerLost,
    DeadlineExceeded,
    Cancelled,
    /// The worker's result is not JSON.
    InvalidResult,
    /// The task's label failed to load on every worker that could run it.
    LoadFailed,
    /// The worker said it is broken, and no other worker could run the task.
    WorkerFault,
    /// A streaming client read too slowly: more chunks waited for it than allowed.
    SlowReader,
    DuplicateTask,

    // The model repository.
    NoModelRepository,
    LabelExists,
    UploadInProgress,
    /// The files are not a model the engine can serve.
    InvalidModel,
    /// ONNX Runtime's library cannot be found.
    RuntimeMissing,
    /// ONNX Runtime's library cannot be loaded.
    RuntimeLoadFailed,
    /// The model is known but cannot be served now (its `model.toml` is unusable).
    ModelUnavailable,

    Internal,
}

impl ErrorCode {
    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MalformedRequest => "malformed_request",
            InvalidField => "invalid_field",
            BodyTooLarge => "body_too_large",
            RequestTimeout => "request_timeout",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            UnsupportedMediaType => "unsupported_media_type",
            HeaderTooLarge => "header_too_large",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            TenantLimit => "tenant_limit",
            Conflict => "conflict",
            UnknownLabel => "unknown_label",
            NoCapableWorker => "no_capable_worker",
            QueueFull => "queue_full",
            ShuttingDown => "shutting_down",
            StoreUnavailable => "store_unavailable",
            DeadlineUnmeetable => "deadline_unmeetable",
            TaskFailed => "task_failed",
            WorkerLost => "worker_lost",
            DeadlineExceeded => "deadline_exceeded",
            Cancelled => "cancelled",
            InvalidResult => "invalid_result",
            LoadFailed => "load_failed",
            WorkerFault => "worker_fault",
            SlowReader => "slow_reader",
            DuplicateTask => "duplicate_task",
            NoModelRepository => "no_model_repository",
            LabelExists => "label_exists",
            UploadInProgress => "upload_in_progress",
            InvalidModel => "invalid_model",
            RuntimeMissing => "runtime_missing",
            RuntimeLoadFailed => "runtime_load_failed",
            ModelUnavailable => "model_unavailable",
            Internal => "internal",
        }
    }

    /// The HTTP status of the task API for this code.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            MalformedRequest => 400,
            Unauthorized => 401,
            Forbidden => 403,
            NotFound | UnknownLabel => 404,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            Conflict | Cancelled | DuplicateTask | NoModelRepository | LabelExists
            | UploadInProgress => 409,
            BodyTooLarge => 413,
            UnsupportedMediaType => 415,
            InvalidField | InvalidModel => 422,
            TenantLimit => 429,
            HeaderTooLarge => 431,
            Internal => 500,
            TaskFailed | WorkerLost | InvalidResult | LoadFailed | WorkerFault => 502,
            NoCapableWorker | QueueFull | ShuttingDown | StoreUnavailable | DeadlineUnmeetable
            | RuntimeMissing | RuntimeLoadFailed | ModelUnavailable | SlowReader => 503,
            DeadlineExceeded => 504,
        }
    }

    /// The gRPC status code for this code.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        use ErrorCode::*;
        match self {
            MalformedRequest | InvalidField | UnsupportedMediaType | HeaderTooLarge
            | InvalidModel => Code::InvalidArgument,
            Unauthorized => Code::Unauthenticated,
            Forbidden => Code::PermissionDenied,
            TenantLimit => Code::ResourceExhausted,
            NotFound | UnknownLabel => Code::NotFound,
            MethodNotAllowed => Code::Unimplemented,
            Conflict | DuplicateTask | NoModelRepository | LabelExists | UploadInProgress => {
                Code::AlreadyExists
            }
            BodyTooLarge | SlowReader => Code::ResourceExhausted,
            // A task cancelled under its caller: the call may be tried again.
            Cancelled => Code::Unavailable,
            NoCapableWorker | QueueFull | ShuttingDown | StoreUnavailable | DeadlineUnmeetable
            | RuntimeMissing | RuntimeLoadFailed | ModelUnavailable => Code::Unavailable,
            RequestTimeout | DeadlineExceeded => Code::DeadlineExceeded,
            TaskFailed | WorkerLost | InvalidResult | LoadFailed | WorkerFault | Internal => {
                Code::Internal
            }
        }
    }

    /// Whether the code says how a task ended on the pool (in a failed task's view) rather
    /// than why a request was refused.
    pub fn is_task_outcome(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            TaskFailed
                | WorkerLost
                | DeadlineExceeded
                | Cancelled
                | InvalidResult
                | LoadFailed
                | WorkerFault
                | SlowReader
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, to check the table against serde's names.
    const ALL: &[ErrorCode] = {
        use ErrorCode::*;
        &[
            MalformedRequest,
            InvalidField,
            BodyTooLarge,
            RequestTimeout,
            NotFound,
            MethodNotAllowed,
            UnsupportedMediaType,
            HeaderTooLarge,
            Unauthorized,
            Forbidden,
            TenantLimit,
            Conflict,
            UnknownLabel,
            NoCapableWorker,
            QueueFull,
            ShuttingDown,
            StoreUnavailable,
            DeadlineUnmeetable,
            TaskFailed,
            WorkerLost,
            DeadlineExceeded,
            Cancelled,
            InvalidResult,
            LoadFailed,
            WorkerFault,
            SlowReader,
            DuplicateTask,
            NoModelRepository,
            LabelExists,
            UploadInProgress,
            InvalidModel,
            RuntimeMissing,
            RuntimeLoadFailed,
            ModelUnavailable,
            Internal,
        ]
    };

    #[test]
    fn the_code_is_its_serialized_name_and_parses_back() {
        for code in ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
    }

    #[test]
    fn statuses_are_errors_and_capacity_codes_are_503() {
        for code in ALL {
            assert!((400..600).contains(&code.http_status()), "{code}");
        }
        use ErrorCode::*;
        for code in [NoCapableWorker, QueueFull, ShuttingDown, StoreUnavailable] {
            assert_eq!(code.http_status(), 503);
            assert_eq!(code.grpc_code(), tonic::Code::Unavailable);
        }
        assert_eq!(DeadlineExceeded.http_status(), 504);
        assert_eq!(DeadlineExceeded.grpc_code(), tonic::Code::DeadlineExceeded);
    }
}
