//! What every handler can reach: the actors' addresses and the configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::Addr;
use actix_web::HttpRequest;

use super::ApiError;
use crate::actors::{Dispatcher, LabelRegistry, LogSink};
use crate::config::Config;

pub struct AppState {
    pub dispatcher: Addr<Dispatcher>,
    pub registry: Addr<LabelRegistry>,
    pub log: Addr<LogSink>,
    pub config: Arc<Config>,
    /// The Open Inference Protocol's own state (`/v2`).
    pub oip: Arc<crate::oip::OipState>,
    next_conn: AtomicU64,
}

impl AppState {
    pub fn new(
        dispatcher: Addr<Dispatcher>,
        registry: Addr<LabelRegistry>,
        log: Addr<LogSink>,
        config: Arc<Config>,
    ) -> Self {
        Self {
            dispatcher,
            registry,
            log,
            config,
            oip: Arc::default(),
            next_conn: AtomicU64::new(1),
        }
    }

    /// A number no other worker connection of this process has.
    pub fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Checks `Authorization: Bearer <token>` when `token` is set.
    pub fn authorize(req: &HttpRequest, token: &str) -> Result<(), ApiError> {
        if token.is_empty() {
            return Ok(());
        }
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(p) if p == token => Ok(()),
            Some(_) => Err(ApiError::Unauthorized("invalid token".into())),
            None => Err(ApiError::Unauthorized(
                "missing 'Authorization: Bearer <token>'".into(),
            )),
        }
    }
}
