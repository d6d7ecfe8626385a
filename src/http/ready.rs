//! `GET /health/ready`: 200 while the server takes tasks, 503 from the moment it drains
//! (`/health` stays 200 until the process exits).

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::{ApiError, AppState};

pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down("the server is shutting down"));
    }
    Ok(HttpResponse::Ok().json(json!({ "message": "ready" })))
}
