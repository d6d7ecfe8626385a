//! What is read of the dispatcher without changing it: its counters for `/metrics`, the
//! pool for the dashboard, each worker's health; and the repository labels its
//! in-process workers can load.

use actix::prelude::*;

use super::Dispatcher;
use crate::actors::board::{
    health_name, LabelBackoff, PoolView, WorkerHealthRow, WorkerLoad, WorkersHealth,
};
use crate::actors::messages::*;

impl Handler<GetStats> for Dispatcher {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(DispatcherStats {
            queued: self.scheduler.queued(),
            running: self.scheduler.running(),
            finished: self.tasks.totals(),
            restored_waiting: self.parked.len(),
        })
    }
}

impl Handler<RepositoryLabels> for Dispatcher {
    type Result = ();

    /// Models added to the server's repository are loadable by the in-process workers.
    fn handle(&mut self, msg: RepositoryLabels, _: &mut Context<Self>) {
        for entry in self.workers.values().filter(|e| e.local) {
            self.admission.catalogs.extend(entry.key, &msg.labels);
        }
    }
}

impl Handler<GetPool> for Dispatcher {
    type Result = MessageResult<GetPool>;

    fn handle(&mut self, _: GetPool, _: &mut Context<Self>) -> Self::Result {
        let states: std::collections::HashMap<_, _> = self
            .scheduler
            .worker_health(self.now())
            .into_iter()
            .map(|r| (r.worker, health_name(r.state)))
            .collect();
        let mut workers: Vec<WorkerLoad> = self
            .workers
            .iter()
            .map(|(worker_id, entry)| WorkerLoad {
                worker_id: worker_id.clone(),
                kind: if entry.local { "local" } else { "remote" },
                slots: entry.slots,
                busy: self.busy(entry.key),
                state: states.get(&entry.key).copied().unwrap_or("healthy"),
            })
            .collect();
        workers.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
        MessageResult(PoolView {
            workers,
            queued: self.scheduler.queued(),
            running: self.scheduler.running(),
            history: self.queue_history.samples(),
        })
    }
}

impl Handler<GetWorkerHealth> for Dispatcher {
    type Result = MessageResult<GetWorkerHealth>;

    fn handle(&mut self, _: GetWorkerHealth, _: &mut Context<Self>) -> Self::Result {
        let mut workers: Vec<WorkerHealthRow> = self
            .scheduler
            .worker_health(self.now())
            .into_iter()
            .filter_map(|r| {
                Some(WorkerHealthRow {
                    worker_id: self.worker_ids.get(&r.worker)?.clone(),
                    state: health_name(r.state),
                    ejections: r.ejections,
                    consecutive_failures: r.consecutive_failures,
                    failure_rate: r.failure_rate,
                    probe_in_s: r.probe_in_s,
                    load_backoff: r
                        .load_backoff
                        .into_iter()
                        .map(|(label, seconds_left)| LabelBackoff {
                            label: self.scheduler.label_name(label).to_owned(),
                            seconds_left,
                        })
                        .collect(),
                })
            })
            .collect();
        workers.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
        MessageResult(WorkersHealth { workers })
    }
}
