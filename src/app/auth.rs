//! Who may call: the bearer tokens of clients (each naming a tenant) and of workers
//! (each naming a worker id, or shared), checked the same way for HTTP headers and gRPC
//! metadata. Every token is compared in constant time, against every configured token
//! (no early exit), and never appears in an answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::HttpRequest;

use super::ApiError;
use crate::config::{Config, Secret, ANONYMOUS};
use crate::error_code::ErrorCode;

/// Why a caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No `Bearer` token came with the call.
    Missing,
    /// The token is none of those configured.
    Invalid,
    /// A worker's token names another worker id.
    OtherId,
}

impl Refused {
    pub fn to_api_error(self) -> ApiError {
        match self {
            Refused::Invalid => ApiError::unauthorized("invalid token"),
            Refused::Missing => ApiError::unauthorized("missing 'Authorization: Bearer <token>'"),
            Refused::OtherId => ApiError::new(
                ErrorCode::Forbidden,
                "this token is not for the Worker-Id it was sent with",
            ),
        }
    }
}

fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization.and_then(|v| v.strip_prefix("Bearer "))
}

fn header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The clients' tokens, each with the tenant it selects.
#[derive(Debug, Clone)]
pub struct Clients {
    tokens: Vec<(Secret, Arc<str>)>,
    anonymous: Arc<str>,
}

impl Clients {
    pub fn new(config: &Config) -> Self {
        let mut tokens = Vec::new();
        if config.api.client_token.is_set() {
            tokens.push((config.api.client_token.clone(), Arc::from(ANONYMOUS)));
        }
        for (name, tenant) in &config.api.tenants {
            tokens.push((tenant.token.clone(), Arc::from(name.as_str())));
        }
        Self {
            tokens,
            anonymous: Arc::from(ANONYMOUS),
        }
    }

    /// The tenant an `Authorization` value selects. With no token configured every
    /// caller is the anonymous tenant; otherwise a call needs one of them.
    pub fn check(&self, authorization: Option<&str>) -> Result<Arc<str>, Refused> {
        if self.tokens.is_empty() {
            return Ok(self.anonymous.clone());
        }
        let presented = bearer(authorization).ok_or(Refused::Missing)?;
        let mut tenant = None;
        for (token, name) in &self.tokens {
            if token.matches(presented) {
                tenant = Some(name);
            }
        }
        tenant.cloned().ok_or(Refused::Invalid)
    }

    /// The request's tenant, or the 401 that refuses it.
    pub fn authorize(&self, req: &HttpRequest) -> Result<Arc<str>, ApiError> {
        self.check(header(req)).map_err(Refused::to_api_error)
    }
}

/// The workers' tokens: one any worker may present, and each worker id's own.
#[derive(Debug, Clone)]
pub struct Workers {
    shared: Secret,
    by_id: BTreeMap<String, Secret>,
}

impl Workers {
    pub fn new(config: &Config) -> Self {
        Self {
            shared: config.workers.worker_token.clone(),
            by_id: config.workers.worker_tokens.clone(),
        }
    }

    /// Whether a worker presenting `authorization` may connect as `worker_id`: an id with
    /// a token of its own only with that token; any other with the shared token. A token
    /// of another id is refused as such (403), not as unknown.
    pub fn check(&self, authorization: Option<&str>, worker_id: &str) -> Result<(), Refused> {
        if !self.shared.is_set() && self.by_id.is_empty() {
            return Ok(());
        }
        let presented = bearer(authorization).ok_or(Refused::Missing)?;
        let mut own = false;
        let mut other = false;
        for (id, token) in &self.by_id {
            let hit = token.matches(presented);
            own |= hit && id == worker_id;
            other |= hit && id != worker_id;
        }
        let shared = self.shared.matches(presented);
        match self.by_id.contains_key(worker_id) {
            _ if own => Ok(()),
            false if shared => Ok(()),
            true if shared || other => Err(Refused::OtherId),
            false if other => Err(Refused::OtherId),
            _ => Err(Refused::Invalid),
        }
    }

    /// The request's worker id may connect, or the 401/403 that refuses it.
    pub fn authorize(&self, req: &HttpRequest, worker_id: &str) -> Result<(), ApiError> {
        self.check(header(req), worker_id)
            .map_err(Refused::to_api_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TenantSettings;

    fn tenant(token: &str) -> TenantSettings {
        TenantSettings {
            token: Secret::new(token),
            token_file: None,
            max_in_flight: None,
            priority: 0,
            weight: 1.0,
        }
    }

    #[test]
    fn a_token_selects_its_tenant_and_client_token_the_anonymous_one() {
        let mut config = Config::default();
        assert_eq!(&*Clients::new(&config).check(None).unwrap(), ANONYMOUS);
        config.api.client_token = Secret::new("anon-token");
        config
            .api
            .tenants
            .insert("batch".into(), tenant("batch-token"));
        let clients = Clients::new(&config);
        assert_eq!(
            &*clients.check(Some("Bearer batch-token")).unwrap(),
            "batch"
        );
        assert_eq!(
            &*clients.check(Some("Bearer anon-token")).unwrap(),
            ANONYMOUS
        );
        assert_eq!(clients.check(Some("Bearer nope")), Err(Refused::Invalid));
        assert_eq!(clients.check(Some("batch-token")), Err(Refused::Missing));
        assert_eq!(clients.check(None), Err(Refused::Missing));
    }

    #[test]
    fn tenants_alone_require_a_token() {
        let mut config = Config::default();
        config.api.tenants.insert("a".into(), tenant("a-token"));
        assert_eq!(Clients::new(&config).check(None), Err(Refused::Missing));
    }

    #[test]
    fn a_worker_token_admits_its_own_id_only() {
        let mut config = Config::default();
        let workers = Workers::new(&config);
        assert_eq!(workers.check(None, "anyone"), Ok(()));
        config.workers.worker_token = Secret::new("shared");
        config
            .workers
            .worker_tokens
            .insert("w1".into(), Secret::new("w1-token"));
        config
            .workers
            .worker_tokens
            .insert("w2".into(), Secret::new("w2-token"));
        let workers = Workers::new(&config);
        assert_eq!(workers.check(Some("Bearer w1-token"), "w1"), Ok(()));
        assert_eq!(
            workers.check(Some("Bearer w1-token"), "w2"),
            Err(Refused::OtherId)
        );
        assert_eq!(
            workers.check(Some("Bearer w1-token"), "w9"),
            Err(Refused::OtherId)
        );
        // An id with a token of its own is not open to the shared token...
        assert_eq!(
            workers.check(Some("Bearer shared"), "w1"),
            Err(Refused::OtherId)
        );
        // ...which still admits ids without one.
        assert_eq!(workers.check(Some("Bearer shared"), "w9"), Ok(()));
        assert_eq!(
            workers.check(Some("Bearer wrong"), "w9"),
            Err(Refused::Invalid)
        );
        assert_eq!(workers.check(None, "w1"), Err(Refused::Missing));
        config.workers.worker_token = Secret::default();
        let workers = Workers::new(&config);
        assert_eq!(workers.check(Some("Bearer w1-token"), "w1"), Ok(()));
        assert_eq!(
            workers.check(Some("Bearer anything"), "w9"),
            Err(Refused::Invalid)
        );
    }
}
