//! Who may call: the bearer tokens of clients and workers, checked the same way for
//! HTTP headers and gRPC metadata.

use actix_web::HttpRequest;

use super::ApiError;

/// Why a caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No `Bearer` token came with the call.
    Missing,
    /// The token is not the one required.
    Invalid,
}

/// Checks an `Authorization` value (`Bearer <token>`) against `token`; anything passes
/// when `token` is empty.
pub fn check_bearer(authorization: Option<&str>, token: &str) -> Result<(), Refused> {
    if token.is_empty() {
        return Ok(());
    }
    match authorization.and_then(|v| v.strip_prefix("Bearer ")) {
        Some(presented) if presented == token => Ok(()),
        Some(_) => Err(Refused::Invalid),
        None => Err(Refused::Missing),
    }
}

/// Checks the request's `Authorization: Bearer <token>` when `token` is set.
pub fn authorize(req: &HttpRequest, token: &str) -> Result<(), ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    check_bearer(header, token).map_err(|refused| match refused {
        Refused::Invalid => ApiError::unauthorized("invalid token"),
        Refused::Missing => ApiError::unauthorized("missing 'Authorization: Bearer <token>'"),
    })
}
