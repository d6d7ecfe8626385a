//! Graceful stop on SIGTERM/SIGINT: refuse new tasks, tell workers to drain, give running
//! tasks `shutdown_grace_s` to finish, answer every waiting client, flush the store.
//! Depends on the dispatcher's messages and the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;

use crate::actors::messages::{BeginDrain, EndDrain};
use crate::actors::Dispatcher;
use crate::store::Journal;

const POLL: Duration = Duration::from_millis(50);

/// Everything a drain touches; cheap to clone.
#[derive(Clone)]
pub struct Drainer {
    pub draining: Arc<AtomicBool>,
    pub dispatcher: Addr<Dispatcher>,
    pub journal: Option<Journal>,
    pub grace: Duration,
}

impl Drainer {
    /// Drains; returns when the HTTP server may stop.
    pub async fn run(&self) {
        self.draining.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + self.grace;
        let mut running = 0;
        loop {
            match self.dispatcher.send(BeginDrain).await {
                Ok(n) => running = n,
                Err(e) => tracing::error!(error = %e, "dispatcher unavailable while draining"),
            }
            if running == 0 || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        let released = self.dispatcher.send(EndDrain).await.unwrap_or(0);
        if let Some(journal) = &self.journal {
            if let Err(e) = journal.sync().await {
                tracing::error!(error = %e, "the task store could not be flushed");
            }
        }
        tracing::info!(
            still_running = running,
            clients_released = released,
            "drained; unfinished tasks are kept in the store for the restart"
        );
    }
}

/// Resolves on the first SIGTERM or SIGINT; names it.
pub async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
