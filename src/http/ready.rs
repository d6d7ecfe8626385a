//! `GET /health/ready`: 200 while the server takes tasks, 503 from the moment it drains
//! (`/health` stays 200 until the process exits).

use actix_web::{web, HttpResponse};

use super::workers::Health;
use crate::app::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "pool",
    responses(
        (status = 200, description = "The server takes tasks", body = Health),
        (status = 503, description = "Draining (`shutting_down`), with Retry-After", body = super::schema::ErrorResponse),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down("the server is shutting down"));
    }
    Ok(HttpResponse::Ok().json(Health {
        message: "ready".to_owned(),
    }))
}
