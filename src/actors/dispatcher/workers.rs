//! The dispatcher's worker messages: a worker joins or leaves, loads or drops a label.

use actix::prelude::*;

use super::events::WorkerDetail;
use super::{Dispatcher, WorkerEntry};
use crate::actors::messages::*;
use crate::routing::{WorkerKey, WorkerSpec};

impl Handler<WorkerJoined> for Dispatcher {
    type Result = Result<(), JoinError>;

    fn handle(&mut self, msg: WorkerJoined, _: &mut Context<Self>) -> Self::Result {
        let registration = msg.registration;
        let worker_id = registration.worker_id.clone();
        if self.workers.contains_key(&worker_id) {
            return Err(JoinError::Duplicate(worker_id));
        }
        self.next_worker_key += 1;
        let key = WorkerKey(self.next_worker_key);
        // The registry must know the worker before its first label event arrives.
        self.worker_ids.insert(key, worker_id.clone());
        let spec = WorkerSpec {
            key,
            slots: registration.slots,
            max_labels: registration.max_labels,
            task_types: registration.task_types.clone(),
            labels: registration.labels.clone(),
        };
        let now_s = self.now();
        let actions = match self.scheduler.worker_joined(spec, now_s) {
            Ok(actions) => actions,
            Err(_) => {
                self.worker_ids.remove(&key);
                return Err(JoinError::TooManyTaskTypes);
            }
        };
        self.workers.insert(
            worker_id.clone(),
            WorkerEntry {
                key,
                conn: msg.conn,
                commands: msg.commands,
                local: msg.local,
                slots: registration.slots,
            },
        );
        self.admission
            .joined(key, &registration.task_types, registration.catalog.clone());
        self.registry.do_send(WorkerConnected {
            worker_id: worker_id.clone(),
            task_types: registration.task_types.clone(),
        });
        tracing::info!(worker_id = %worker_id, slots = registration.slots, max_labels = registration.max_labels, "worker joined");
        self.worker_event(
            "worker_joined",
            &worker_id,
            WorkerDetail::Joined {
                slots: registration.slots,
                max_labels: registration.max_labels,
                task_types: &registration.task_types,
                labels: &registration.labels,
            },
        );
        self.apply(actions);
        self.joined_hook(&worker_id);
        Ok(())
    }
}

impl Handler<WorkerLeft> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: WorkerLeft, _: &mut Context<Self>) {
        let Some(key) = self.live(&msg.worker_id, msg.conn) else {
            return;
        };
        self.workers.remove(&msg.worker_id);
        // Its running tasks go back to the queue (the core fails those out of attempts),
        // but not those whose client got chunks of them.
        let running = self.scheduler.running_on(key).to_vec();
        for task in &running {
            self.tasks.requeue(*task);
        }
        let now_s = self.now();
        self.admission.left(key, now_s);
        let actions = self.scheduler.worker_left(key, now_s);
        self.apply(actions);
        self.end_streamed(running);
        self.worker_ids.remove(&key);
        self.metrics.worker_left(&msg.worker_id);
        self.registry.do_send(WorkerDisconnected {
            worker_id: msg.worker_id.clone(),
        });
        tracing::info!(worker_id = %msg.worker_id, reason = %msg.reason, "worker left");
        self.worker_event(
            "worker_left",
            &msg.worker_id,
            WorkerDetail::Left {
                reason: &msg.reason,
            },
        );
    }
}

impl Handler<LabelLoaded> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: LabelLoaded, _: &mut Context<Self>) {
        if let Some(key) = self.live(&msg.worker_id, msg.conn) {
            let now_s = self.now();
            let actions = self.scheduler.label_loaded(key, &msg.label, now_s);
            self.apply(actions);
        }
    }
}

impl Handler<LabelEvicted> for Dispatcher {
    type Result = ();

    fn handle(&mut self, msg: LabelEvicted, _: &mut Context<Self>) {
        if let Some(key) = self.live(&msg.worker_id, msg.conn) {
            let now_s = self.now();
            self.scheduler.label_evicted(key, &msg.label, now_s);
            self.apply(Vec::new());
        }
    }
}
