//! Starting the server: the actors, then the HTTP listener with the HTTP API and the
//! Open Inference Protocol composed on the application's services. Used by `main` and by
//! the tests, which start it in-process on port 0. The one place that depends on every
//! layer.

pub mod openapi;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use actix_web::{web, App, HttpServer};

use crate::actors::log_file::LogSettings;
use crate::actors::messages::RepositoryLabels;
use crate::actors::{
    Dispatcher, DispatcherBounds, LabelRegistry, LocalWorker, LocalWorkerSpec, LogSink,
    TenantPolicy, Tenants,
};
use crate::app::AppState;
use crate::config::Config;
use crate::http;
use crate::oip::{self, OipState};

/// Printed with `to_string()`: each message carries its cause itself.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the log directory {dir}: {error}")]
    LogDir {
        dir: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot start local workers: {0}")]
    LocalWorkers(String),
    #[error("cannot listen for gRPC on {addr}: {error}")]
    GrpcBind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// A started server.
pub struct Running {
    /// The address it really listens on (the port is resolved when 0 was asked).
    pub addr: SocketAddr,
    /// The address of the gRPC service, when `grpc_bind` is set.
    pub grpc_addr: Option<SocketAddr>,
    /// Whether HTTP, the worker WebSocket and gRPC are served over TLS.
    pub tls: bool,
    pub server: actix_web::dev::Server,
    pub dispatcher: Addr<Dispatcher>,
    pub registry: Addr<LabelRegistry>,
    pub local_workers: Vec<Addr<LocalWorker>>,
    /// Drains the server; `main` runs it on SIGTERM/SIGINT.
    pub drainer: crate::shutdown::Drainer,
}

/// Starts the actors and the HTTP server; must run inside an actix system.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let config = Arc::new(config);
    // Checked first: a bad certificate is the user's to fix before anything starts.
    let identity = match config.server.tls() {
        Some((cert, key)) => {
            // tonic builds its TLS config on the process's default provider.
            crate::tls::install_provider();
            Some(crate::tls::server_identity(cert, key)?)
        }
        None => None,
    };
    let settings = config.log.event_log.then(|| LogSettings {
        dir: config.log.log_dir.clone(),
        max_bytes: config.log.log_max_bytes,
        keep: config.log.log_keep,
    });
    let sink = LogSink::open(settings, config.log.log_record_max_bytes).map_err(|error| {
        StartError::LogDir {
            dir: config.log.log_dir.clone(),
            error,
        }
    })?;
    let sink = std::sync::Mutex::new(Some(sink));
    let log = SyncArbiter::start(1, move || {
        // A SyncArbiter calls the factory once per thread; with one thread, exactly once.
        let mut sink = sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sink.take().expect("log sink factory called once")
    });
    let metrics = Arc::new(crate::metrics::Metrics::new(
        config.telemetry.metrics_max_labels,
        config.telemetry.metrics_max_workers,
    ));
    let store = match config.store_durability() {
        Some(durability) => {
            let retention = crate::store::Retention {
                age: Duration::from_secs(config.tasks.task_retention_s),
                max_finished: config.tasks.max_finished_tasks,
            };
            Some(crate::store::Journal::open(
                &config.store.data_dir,
                durability,
                retention,
                metrics.clone(),
            )?)
        }
        None => None,
    };
    let registry = LabelRegistry::default().start();
    let mut dispatcher = Dispatcher::new(
        config.policy(),
        config.routing(),
        Duration::from_secs(config.tasks.task_retention_s),
        config.tasks.max_finished_tasks,
        registry.clone(),
        log.clone().recipient(),
    )
    .with_metrics(metrics.clone())
    .with_tenants(tenants(&config))
    .with_bounds(DispatcherBounds {
        admission_control: config.dispatch.admission_control,
        worker_grace_s: config.dispatch.worker_grace_s,
        max_retained_bytes: config.tasks.max_retained_bytes,
        stream_buffer_bytes: config.api.stream_buffer_bytes,
    });
    let journal = store.as_ref().map(|(journal, _)| journal.clone());
    if let Some((journal, recovered)) = store {
        dispatcher = dispatcher.with_journal(journal, recovered);
    }
    let dispatcher = dispatcher.start();
    let local_workers =
        start_local_workers(&config, &dispatcher, &registry, log.clone().recipient())?;
    let state = web::Data::new(
        AppState::new(dispatcher.clone(), registry.clone(), log, config.clone())
            .with_journal(journal.clone())
            .with_metrics(metrics),
    );
    let drainer = crate::shutdown::Drainer {
        draining: state.draining.clone(),
        dispatcher: dispatcher.clone(),
        journal,
        grace: Duration::from_secs(config.server.shutdown_grace_s),
    };
    let oip_state = web::Data::new(OipState::new(state.clone()));
    let grpc_addr = match config.server.grpc_bind {
        Some(addr) => Some(
            oip::grpc::start(addr, oip_state.clone(), identity.as_ref().map(grpc_tls))
                .map_err(|error| StartError::GrpcBind { addr, error })?,
        ),
        None => None,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(oip_state.clone())
            .configure(http::configure)
            .configure(openapi::configure)
            .configure(oip::configure)
            .wrap(actix_web::middleware::from_fn(http::edge::json_errors))
    })
    .workers(2)
    // Without TCP_NODELAY a small write (an answer, a frame to a worker) waits behind an
    // unacknowledged one for the peer's delayed ACK: tens of ms.
    .tcp_nodelay(true)
    // Signals are `main`'s (a drain first); once drained, connections left get 2 s.
    .disable_signals()
    .shutdown_timeout(2);
    let tls = identity.is_some();
    let server = match identity {
        Some(identity) => server.bind_rustls_0_23(config.server.bind, identity.config),
        None => server.bind(config.server.bind),
    }
    .map_err(|error| StartError::Bind {
        addr: config.server.bind,
        error,
    })?;
    let addr = server.addrs()[0];
    let server = server.run();
    Ok(Running {
        addr,
        grpc_addr,
        tls,
        server,
        dispatcher,
        registry,
        local_workers,
        drainer,
    })
}

/// The configured tenants, as the dispatcher serves them.
fn tenants(config: &Config) -> Tenants {
    Tenants::new(config.api.tenants.iter().map(|(name, tenant)| {
        let policy = TenantPolicy {
            max_in_flight: tenant.max_in_flight,
            priority: tenant.priority,
            weight: tenant.weight,
        };
        (name.clone(), policy)
    }))
}

/// The gRPC service's TLS: the same certificate and key as HTTPS.
fn grpc_tls(identity: &crate::tls::ServerIdentity) -> tonic::transport::ServerTlsConfig {
    let identity = tonic::transport::Identity::from_pem(&identity.cert_pem, &identity.key_pem);
    tonic::transport::ServerTlsConfig::new().identity(identity)
}

fn start_local_workers(
    config: &Config,
    dispatcher: &Addr<Dispatcher>,
    registry: &Addr<LabelRegistry>,
    log: Recipient<crate::actors::messages::Record>,
) -> Result<Vec<Addr<LocalWorker>>, StartError> {
    let Some(repository) = config.local.models.clone() else {
        return Ok(Vec::new());
    };
    if !repository.is_dir() {
        return Err(StartError::LocalWorkers(format!(
            "the model repository {} is not a directory (run scripts/setup.sh for the default one)",
            repository.display()
        )));
    }
    registry.do_send(RepositoryLabels {
        labels: crate::repository::labels(&repository),
    });
    if config.local.workers == 0 {
        return Ok(Vec::new());
    }
    let library = crate::engine::init_runtime(config.local.ort_lib.as_deref())
        .map_err(|e| StartError::LocalWorkers(e.to_string()))?;
    tracing::info!(library = %library.display(), workers = config.local.workers, "ONNX Runtime loaded");
    (1..=config.local.workers)
        .map(|i| {
            let spec = LocalWorkerSpec {
                worker_id: format!("local-{i}"),
                repository: repository.clone(),
                max_labels: config.local.max_labels,
                slots: config.local.slots,
            };
            // Local connections count down from the top so they never meet a remote one's.
            LocalWorker::spawn(
                spec,
                u64::MAX - u64::from(i),
                dispatcher.clone(),
                log.clone(),
            )
            .map_err(|e| StartError::LocalWorkers(e.to_string()))
        })
        .collect()
}
