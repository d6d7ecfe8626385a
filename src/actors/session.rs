//! WorkerSession: one actor per remote worker WebSocket. It decodes and checks frames,
//! registers the worker with the dispatcher, relays its reports, sends it commands, and
//! drops it when it breaks the protocol or falls silent. Protobuf stays in `protocol`.

use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, CloseReason};

use super::dispatcher::Dispatcher;
use super::log_limit::{self, LogLimits, LogRate};
use super::log_sink::floor_char_boundary;
use super::messages::{Dispatch, Record, TaskFinished, WorkerJoined, WorkerLeft};
use super::relay::relay;
use crate::clock::unix_ms;
use crate::protocol::{decode_from_worker, encode_command, FromWorker};

/// RFC 6455: a close frame's payload is at most 125 bytes, 2 of them the code.
pub const MAX_CLOSE_REASON: usize = 123;

/// A close frame whose reason fits the limit, cut on a character boundary.
pub fn close_frame(code: CloseCode, reason: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(reason[..floor_char_boundary(reason, MAX_CLOSE_REASON)].to_owned()),
    }
}

const CHECK_EVERY: Duration = Duration::from_secs(1);
const PING_EVERY: Duration = Duration::from_secs(5);

pub struct WorkerSession {
    conn: u64,
    worker_id: String,
    dispatcher: Addr<Dispatcher>,
    log: Recipient<Record>,
    registered: bool,
    last_seen: Instant,
    last_ping: Instant,
    heartbeat_timeout: Duration,
    /// A connection that has not registered by then is closed.
    register_by: Option<Instant>,
    close_reason: String,
    log_limits: LogLimits,
    log_rate: LogRate,
}

impl WorkerSession {
    pub fn new(
        conn: u64,
        worker_id: String,
        dispatcher: Addr<Dispatcher>,
        log: Recipient<Record>,
        heartbeat_timeout: Duration,
        log_limits: LogLimits,
    ) -> Self {
        Self {
            conn,
            worker_id,
            dispatcher,
            log,
            registered: false,
            last_seen: Instant::now(),
            last_ping: Instant::now(),
            heartbeat_timeout,
            register_by: None,
            close_reason: "connection closed".to_owned(),
            log_limits,
            log_rate: LogRate::new(log_limits.rate_per_s, Instant::now()),
        }
    }

    /// Closes the connection if no Register arrived within `timeout`.
    pub fn with_register_timeout(mut self, timeout: Duration) -> Self {
        self.register_by = Instant::now().checked_add(timeout);
        self
    }

    /// Writes a worker's log record within its byte and rate bounds; reports drops.
    fn log(&mut self, mut record: crate::protocol::LogRecord) {
        let Some(dropped) = self.log_rate.admit(Instant::now()) else {
            return;
        };
        if dropped > 0 {
            self.report_dropped(dropped);
        }
        let budget = self
            .log_limits
            .record_max_bytes
            .saturating_sub(log_limit::ENVELOPE_BYTES);
        let truncated = log_limit::truncate(&mut record, budget);
        if truncated {
            record.fields.insert("truncated".into(), "true".into());
        }
        relay(
            FromWorker::Log(record),
            self.conn,
            &self.worker_id,
            &self.dispatcher,
            &self.log,
        );
    }

    fn report_dropped(&self, dropped: u64) {
        self.log.do_send(Record(serde_json::json!({
            "unix_ms": unix_ms(),
            "event": "worker_log_dropped",
            "worker_id": self.worker_id,
            "dropped": dropped,
            "reason": format!("over {} log records/s", self.log_limits.rate_per_s),
        })));
    }

    /// Closes the connection with a reason the worker can read, and stops.
    fn refuse(&mut self, ctx: &mut ws::WebsocketContext<Self>, code: CloseCode, reason: String) {
        tracing::warn!(worker_id = %self.worker_id, %reason, "closing worker connection");
        ctx.close(Some(close_frame(code, &reason)));
        self.close_reason = reason;
        ctx.stop();
    }

    fn on_frame(&mut self, frame: &[u8], ctx: &mut ws::WebsocketContext<Self>) {
        let message = match decode_from_worker(frame) {
            Ok(message) => message,
            Err(error) => return self.refuse(ctx, CloseCode::Protocol, error.to_string()),
        };
        let (conn, worker_id) = (self.conn, self.worker_id.clone());
        match message {
            FromWorker::Register(_) if self.registered => {
                self.refuse(ctx, CloseCode::Protocol, "registered twice".into())
            }
            FromWorker::Register(registration) => {
                if let Err(error) = registration.validate(&self.worker_id) {
                    return self.refuse(ctx, CloseCode::Protocol, format!("bad register: {error}"));
                }
                self.dispatcher
                    .send(WorkerJoined {
                        conn,
                        registration,
                        commands: ctx.address().recipient(),
                        local: false,
                    })
                    .into_actor(self)
                    .then(|joined, this, ctx| {
                        match joined {
                            Ok(Ok(())) => this.registered = true,
                            Ok(Err(error)) => {
                                this.refuse(ctx, CloseCode::Policy, error.to_string())
                            }
                            Err(_) => {
                                this.refuse(ctx, CloseCode::Error, "dispatcher unavailable".into())
                            }
                        }
                        fut::ready(())
                    })
                    .wait(ctx);
            }
            FromWorker::Heartbeat => {}
            _ if !self.registered => self.refuse(
                ctx,
                CloseCode::Protocol,
                "the first frame must be Register".into(),
            ),
            FromWorker::Log(record) => self.log(record),
            FromWorker::TaskResult(report) => {
                self.dispatcher
                    .send(TaskFinished {
                        conn,
                        worker_id,
                        report,
                    })
                    .into_actor(self)
                    .then(|accepted, this, ctx| {
                        if let Ok(Err(reason)) = accepted {
                            this.refuse(ctx, CloseCode::Policy, reason);
                        }
                        fut::ready(())
                    })
                    .wait(ctx);
            }
            other => {
                relay(other, conn, &worker_id, &self.dispatcher, &self.log);
            }
        }
    }
}

impl Actor for WorkerSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(CHECK_EVERY, |this, ctx| {
            let unregistered =
                !this.registered && this.register_by.is_some_and(|at| Instant::now() >= at);
            if unregistered {
                this.refuse(ctx, CloseCode::Policy, "no Register frame in time".into());
            } else if this.last_seen.elapsed() > this.heartbeat_timeout {
                let reason = format!("no heartbeat for {} s", this.heartbeat_timeout.as_secs());
                this.refuse(ctx, CloseCode::Away, reason);
            } else if this.last_ping.elapsed() >= PING_EVERY {
                this.last_ping = Instant::now();
                ctx.ping(b"");
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if self.log_rate.dropped() > 0 {
            self.report_dropped(self.log_rate.dropped());
        }
        if self.registered {
            self.dispatcher.do_send(WorkerLeft {
                conn: self.conn,
                worker_id: self.worker_id.clone(),
                reason: self.close_reason.clone(),
            });
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WorkerSession {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        match item {
            Ok(ws::Message::Binary(frame)) => self.on_frame(&frame, ctx),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_)) | Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Text(_)) => self.refuse(
                ctx,
                CloseCode::Unsupported,
                "text frames are not part of the protocol".into(),
            ),
            Ok(ws::Message::Continuation(_)) => self.refuse(
                ctx,
                CloseCode::Unsupported,
                "fragmented frames are not supported".into(),
            ),
            Ok(ws::Message::Close(reason)) => {
                self.close_reason = reason
                    .and_then(|r| r.description)
                    .unwrap_or_else(|| "worker closed the connection".to_owned());
                ctx.close(None);
                ctx.stop();
            }
            // The peer vanished (killed, network gone): nothing to tell it.
            Err(ws::ProtocolError::Io(error)) => {
                tracing::info!(worker_id = %self.worker_id, %error, "worker connection lost");
                self.close_reason = format!("connection lost: {error}");
                ctx.stop();
            }
            Err(error) => self.refuse(
                ctx,
                CloseCode::Protocol,
                format!("websocket error: {error}"),
            ),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        self.close_reason = "connection lost".to_owned();
        ctx.stop();
    }
}

impl Handler<Dispatch> for WorkerSession {
    type Result = ();

    fn handle(&mut self, msg: Dispatch, ctx: &mut Self::Context) {
        ctx.binary(encode_command(&msg.0));
    }
}
