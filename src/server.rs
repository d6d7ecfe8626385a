//! Starting the server: the actors, then the HTTP listener. Used by `main` and by the
//! tests, which start it in-process on port 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::{web, App, HttpServer};

use crate::actors::{Dispatcher, LabelRegistry, LogSink};
use crate::config::Config;
use crate::http::{self, AppState};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the log directory {dir}: {source}")]
    LogDir {
        dir: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A started server.
pub struct Running {
    /// The address it really listens on (the port is resolved when 0 was asked).
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    pub dispatcher: Addr<Dispatcher>,
    pub registry: Addr<LabelRegistry>,
}

/// Starts the actors and the HTTP server; must run inside an actix system.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let config = Arc::new(config);
    let sink = LogSink::open(&config.log_dir).map_err(|source| StartError::LogDir {
        dir: config.log_dir.clone(),
        source,
    })?;
    let sink = std::sync::Mutex::new(Some(sink));
    let log = SyncArbiter::start(1, move || {
        // A SyncArbiter calls the factory once per thread; with one thread, exactly once.
        let mut sink = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sink.take().expect("log sink factory called once")
    });
    let registry = LabelRegistry::default().start();
    let dispatcher = Dispatcher::new(
        config.policy(),
        config.routing(),
        Duration::from_secs(config.task_retention_s),
        config.max_finished_tasks,
        registry.clone(),
        log.clone().recipient(),
    )
    .start();
    let state = web::Data::new(AppState::new(
        dispatcher.clone(),
        registry.clone(),
        log,
        config.clone(),
    ));
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(http::configure))
        .workers(2)
        .shutdown_timeout(30)
        .bind(config.bind)
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = server.addrs()[0];
    let server = server.run();
    Ok(Running {
        addr,
        server,
        dispatcher,
        registry,
    })
}
