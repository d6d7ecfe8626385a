//! What every transport can reach: the actors' addresses, the configuration, the store
//! and the model repository.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use actix::Addr;

use super::ApiError;
use crate::actors::{Dispatcher, LabelRegistry, LogSink};
use crate::config::Config;
use crate::error_code::ErrorCode;
use crate::repository::Repository;

pub struct AppState {
    pub dispatcher: Addr<Dispatcher>,
    pub registry: Addr<LabelRegistry>,
    pub log: Addr<LogSink>,
    pub config: Arc<Config>,
    /// The durable store, to wait for commits before answering; `None` when off.
    pub journal: Option<crate::store::Journal>,
    /// The model repository (`--models`), with the uploads in progress; `None` without one.
    pub repository: Option<Arc<Repository>>,
    /// Set when the server starts draining: readiness fails, new tasks are refused.
    pub draining: Arc<AtomicBool>,
    /// Shared with the dispatcher, which records into it.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The clients' tokens and their tenants.
    pub clients: super::Clients,
    /// The workers' tokens.
    pub workers: super::Workers,
    next_conn: AtomicU64,
}

impl AppState {
    pub fn new(
        dispatcher: Addr<Dispatcher>,
        registry: Addr<LabelRegistry>,
        log: Addr<LogSink>,
        config: Arc<Config>,
    ) -> Self {
        let repository = config
            .local
            .models
            .clone()
            .map(|dir| Arc::new(Repository::new(dir)));
        Self {
            dispatcher,
            registry,
            log,
            clients: super::Clients::new(&config),
            workers: super::Workers::new(&config),
            config,
            journal: None,
            repository,
            draining: Arc::default(),
            metrics: Arc::new(crate::metrics::Metrics::default()),
            next_conn: AtomicU64::new(1),
        }
    }

    pub fn with_journal(mut self, journal: Option<crate::store::Journal>) -> Self {
        self.journal = journal;
        self
    }

    /// Serves `metrics` at `/metrics` (the ones the dispatcher records into).
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Waits until every store write queued so far is committed.
    pub async fn committed(&self) -> Result<(), ApiError> {
        let Some(journal) = &self.journal else {
            return Ok(());
        };
        journal
            .sync()
            .await
            .map_err(|e| ApiError::unavailable(ErrorCode::StoreUnavailable, e.to_string(), 5))
    }

    /// A number no other worker connection of this process has.
    pub fn next_conn(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
