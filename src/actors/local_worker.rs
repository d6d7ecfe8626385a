//! LocalWorker: an in-process ONNX worker. It registers with the dispatcher and speaks
//! the same messages as a WorkerSession, so the dispatcher cannot tell them apart. The
//! work itself runs on the worker's own thread (the same runner as a remote worker's)
//! and inference on its inference thread, never on an actor's.

use std::path::PathBuf;
use std::rc::Rc;

use actix::prelude::*;
use tokio::sync::mpsc;

use super::dispatcher::Dispatcher;
use super::messages::{Dispatch, Record, TaskFinished, WorkerJoined};
use super::relay::relay;
use crate::protocol::{FromWorker, Registration, WorkerCommand};
use crate::worker::{runner, Executor, Onnx};

pub struct LocalWorker {
    conn: u64,
    registration: Registration,
    dispatcher: Addr<Dispatcher>,
    log: Recipient<Record>,
    commands: mpsc::UnboundedSender<WorkerCommand>,
    reports: Option<mpsc::UnboundedReceiver<FromWorker>>,
}

/// What a local worker is.
pub struct LocalWorkerSpec {
    pub worker_id: String,
    pub repository: PathBuf,
    pub max_labels: u32,
    pub slots: u32,
}

impl LocalWorker {
    /// Starts the worker's thread and its actor, which then registers itself.
    pub fn spawn(
        spec: LocalWorkerSpec,
        conn: u64,
        dispatcher: Addr<Dispatcher>,
        log: Recipient<Record>,
    ) -> std::io::Result<Addr<LocalWorker>> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (report_tx, reports) = mpsc::unbounded_channel();
        let executor = Onnx::start(spec.repository.clone(), &spec.worker_id, Vec::new())?;
        let task_types = executor.task_types();
        let catalog = executor.catalog();
        let max_labels = spec.max_labels;
        std::thread::Builder::new()
            .name(format!("{}-runner", spec.worker_id))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        return tracing::error!(%error, "cannot start a local worker runtime")
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(
                    &runtime,
                    runner::serve(command_rx, report_tx, Rc::new(executor), max_labels),
                );
            })?;
        let registration = Registration {
            worker_id: spec.worker_id,
            max_labels: spec.max_labels,
            slots: spec.slots,
            task_types,
            labels: Vec::new(),
            catalog,
        };
        Ok(LocalWorker {
            conn,
            registration,
            dispatcher,
            log,
            commands,
            reports: Some(reports),
        }
        .start())
    }
}

impl Actor for LocalWorker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(reports) = self.reports.take() {
            ctx.add_stream(futures_util::stream::unfold(reports, |mut rx| async move {
                rx.recv().await.map(|report| (report, rx))
            }));
        }
        self.dispatcher
            .send(WorkerJoined {
                conn: self.conn,
                registration: self.registration.clone(),
                commands: ctx.address().recipient(),
                local: true,
            })
            .into_actor(self)
            .then(|joined, this, ctx| {
                if !matches!(joined, Ok(Ok(()))) {
                    tracing::error!(worker_id = %this.registration.worker_id, "local worker could not join");
                    ctx.stop();
                }
                fut::ready(())
            })
            .wait(ctx);
    }
}

impl Handler<Dispatch> for LocalWorker {
    type Result = ();

    fn handle(&mut self, msg: Dispatch, ctx: &mut Context<Self>) {
        if self.commands.send(msg.0).is_err() {
            tracing::error!(worker_id = %self.registration.worker_id, "local worker thread is gone");
            ctx.stop();
        }
    }
}

impl StreamHandler<FromWorker> for LocalWorker {
    fn handle(&mut self, report: FromWorker, _: &mut Context<Self>) {
        let (conn, worker_id) = (self.conn, self.registration.worker_id.clone());
        if let Some(FromWorker::TaskResult(report)) =
            relay(report, conn, &worker_id, &self.dispatcher, &self.log)
        {
            self.dispatcher.do_send(TaskFinished {
                conn,
                worker_id,
                report,
            });
        }
    }
}
