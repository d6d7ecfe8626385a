//! How the HTTP API answers an `ApiError`: one JSON shape (`{"error":{"code","message"}}`),
//! the status its code gives, and `Retry-After` when retrying later can help.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

pub use crate::app::ApiError;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(retry_after_s) = self.retry_after_s {
            response.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
        }
        response.json(json!({ "error": { "code": self.code, "message": self.message } }))
    }
}
