//! The worker's connection to the dispatcher: register, run what it is told, report,
//! heartbeat, and reconnect with backoff when the dispatcher goes away. Runs on one
//! thread (tasks are `spawn_local`ed); protobuf stays in `protocol`.

use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

use super::labels::Labels;
use super::runner::{handle, Running};
use super::Executor;
use crate::protocol::{
    decode_command, encode_from_worker, FromWorker, Registration, WorkerCommand,
};

const HEARTBEAT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// `ws://HOST:PORT/worker-listen`, or `wss://` when the dispatcher serves TLS.
    pub url: String,
    pub worker_id: String,
    pub max_labels: u32,
    pub slots: u32,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Give up after this many failed connection attempts in a row (None: never).
    pub max_retries: Option<u32>,
    /// PEM CA certificate(s) trusted for `wss://` besides the webpki roots.
    pub ca_cert: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid dispatcher URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("gave up after {attempts} failed connection attempts; last error: {last}")]
    GaveUp { attempts: u32, last: String },
}

/// How long a drained worker waits for the dispatcher to answer its close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How a connection ended.
enum End {
    /// The dispatcher asked us to drain and we did.
    Drained,
    /// Lost or closed; reconnect.
    Lost(String),
}

/// Connects and serves; reconnects with backoff when the connection is lost or the
/// dispatcher drains (it is stopping), until out of retries.
pub async fn run<E: Executor>(options: WorkerOptions, executor: Rc<E>) -> Result<(), WorkerError> {
    let connector = super::connector::for_url(&options.url, options.ca_cert.as_deref())?;
    let labels = Rc::new(Labels::new(options.max_labels as usize));
    let mut backoff = Duration::from_millis(250);
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let end = connection(&options, &connector, &executor, &labels).await?;
        match end {
            End::Drained => {
                // The dispatcher is stopping: its replacement comes up on the same address.
                tracing::info!(
                    retry_in_ms = backoff.as_millis() as u64,
                    "drained; reconnecting"
                );
                tokio::time::sleep(backoff).await;
            }
            End::Lost(reason) => {
                if started.elapsed() > Duration::from_secs(5) {
                    backoff = Duration::from_millis(250);
                    failures = 0;
                }
                failures += 1;
                if options.max_retries.is_some_and(|max| failures > max) {
                    return Err(WorkerError::GaveUp {
                        attempts: failures,
                        last: reason,
                    });
                }
                tracing::warn!(%reason, retry_in_ms = backoff.as_millis() as u64, "disconnected from the dispatcher");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn connection<E: Executor>(
    options: &WorkerOptions,
    connector: &Connector,
    executor: &Rc<E>,
    labels: &Rc<Labels>,
) -> Result<End, WorkerError> {
    let bad_url = |reason: String| WorkerError::BadUrl {
        url: options.url.clone(),
        reason,
    };
    let mut request = options
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| bad_url(e.to_string()))?;
    let id = HeaderValue::from_str(&options.worker_id)
        .map_err(|e| bad_url(format!("worker id: {e}")))?;
    request.headers_mut().insert("Worker-Id", id);
    if let Some(token) = &options.token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| bad_url(format!("token: {e}")))?;
        request.headers_mut().insert("Authorization", value);
    }
    let connector = Some(connector.clone());
    // disable_nagle: each result is a small write; Nagle would hold it behind the last
    // one until the dispatcher's delayed ACK (tens of ms).
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    let ws = match connecting.await {
        Ok((ws, _)) => ws,
        Err(e) => return Ok(End::Lost(format!("cannot connect: {e}"))),
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<FromWorker>();
    let register = FromWorker::Register(Registration {
        worker_id: options.worker_id.clone(),
        max_labels: options.max_labels,
        slots: options.slots,
        task_types: executor.task_types(),
        labels: labels.held(),
        catalog: executor.catalog(),
    });
    if let Err(e) = sink
        .send(Message::Binary(encode_from_worker(&register).into()))
        .await
    {
        return Ok(End::Lost(format!("cannot register: {e}")));
    }
    tracing::info!(worker_id = %options.worker_id, url = %options.url, "connected to the dispatcher");
    let running: Running = Rc::default();
    let mut draining = false;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let end = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Binary(bytes))) => match decode_command(&bytes) {
                    Ok(WorkerCommand::Drain) => draining = true,
                    Ok(command) => handle(command, executor, labels, &running, &tx),
                    Err(e) => tracing::error!(error = %e, "undecodable frame from the dispatcher"),
                },
                Some(Ok(Message::Close(frame))) => {
                    break End::Lost(frame.map_or_else(|| "closed".to_owned(), |f| format!("closed: {}", f.reason)));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break End::Lost(e.to_string()),
                None => break End::Lost("connection ended".to_owned()),
            },
            Some(message) = rx.recv() => {
                // Every frame already queued goes out in one write: with TCP_NODELAY a
                // flush per result would be a packet (and a wake-up) per result.
                let mut sent = sink.feed(Message::Binary(encode_from_worker(&message).into())).await;
                while sent.is_ok() {
                    let Ok(message) = rx.try_recv() else { break };
                    sent = sink.feed(Message::Binary(encode_from_worker(&message).into())).await;
                }
                if let Err(e) = sent {
                    break End::Lost(e.to_string());
                }
                if let Err(e) = sink.flush().await {
                    break End::Lost(e.to_string());
                }
            }
            _ = heartbeat.tick() => {
                if let Err(e) = sink.send(Message::Binary(encode_from_worker(&FromWorker::Heartbeat).into())).await {
                    break End::Lost(e.to_string());
                }
            }
        }
        if draining && running.borrow().is_empty() && rx.is_empty() {
            let _ = sink.send(Message::Close(None)).await;
            // Wait for the dispatcher's close reply: hanging up at once can cut off the
            // last results still being read on its side.
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(frame)) = stream.next().await {
                    if frame.is_close() {
                        break;
                    }
                }
            })
            .await;
            break End::Drained;
        }
    };
    // Tasks of a lost connection are the dispatcher's to retry elsewhere.
    for (_, task) in running.borrow_mut().drain() {
        task.abort();
    }
    Ok(end)
}
