//! The documented error responses of the model routes, shared by each route and its
//! `/versions/{version}` twin (OpenAPI only: nothing constructs these types). Each route
//! lists its success responses itself, so that utoipa collects their body schemas, then
//! [`RouteErrors`] and the set for its kind of route.

use super::error::ErrorResponse;

/// Errors of every model route.
#[derive(utoipa::IntoResponses)]
pub enum RouteErrors {
    #[response(status = 401, description = "Missing or wrong client token")]
    Unauthorized(ErrorResponse),
    #[response(
        status = 404,
        description = "Unknown model (or a version other than 1)"
    )]
    NotFound(ErrorResponse),
}

/// The other errors of `GET /v2/models/{model}[/versions/{version}][/ready]`.
#[derive(utoipa::IntoResponses)]
pub enum ModelErrors {
    #[response(status = 500, description = "Internal error")]
    Internal(ErrorResponse),
    #[response(status = 503, description = "The model's model.toml is unusable")]
    Unusable(ErrorResponse),
}

/// The other errors of `POST /v2/models/{model}[/versions/{version}]/infer`.
#[derive(utoipa::IntoResponses)]
pub enum InferErrors {
    #[response(
        status = 400,
        description = "Malformed request, or it does not fit the model"
    )]
    BadRequest(ErrorResponse),
    #[response(status = 408, description = "The body was not received in time")]
    Timeout(ErrorResponse),
    #[response(status = 413, description = "The body is too large")]
    TooLarge(ErrorResponse),
    #[response(
        status = 500,
        description = "Internal error, or the worker failed the task"
    )]
    Internal(ErrorResponse),
    #[response(
        status = 503,
        description = "No connected worker runs the model, the queue is full, the \
            model's model.toml is unusable, or the server is shutting down"
    )]
    Unavailable(ErrorResponse),
    #[response(status = 504, description = "The deadline passed")]
    DeadlineExceeded(ErrorResponse),
}
