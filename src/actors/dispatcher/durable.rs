//! The dispatcher's side of durability and shutdown: recording accepted tasks, restoring
//! what the store held at start, and draining before the process stops. The store is
//! reached through `Journal`'s plain calls, which queue work for its own thread.

use std::time::{Duration, Instant};

use actix::prelude::*;

use super::Dispatcher;
use crate::actors::messages::{BeginDrain, Dispatch, EndDrain};
use crate::clock::unix_ms;
use crate::protocol::WorkerCommand;
use crate::routing::{Action, Reject, TaskSpec};
use crate::store::{Journal, Recovered, StoredTask};
use crate::tasks::{NewRecord, TaskRecord};

impl Dispatcher {
    /// Attaches the durable store and what it held when opened.
    pub fn with_journal(mut self, journal: Journal, recovered: Recovered) -> Self {
        let hook = journal.clone();
        self.tasks.on_final(move |view| hook.finished(view));
        self.journal = Some(journal);
        self.recovered = Some(recovered);
        self
    }

    pub(super) fn journal_accepted(&self, record: &TaskRecord) {
        let Some(journal) = &self.journal else {
            return;
        };
        let now = Instant::now();
        journal.accepted(StoredTask {
            task_id: record.view().task_id.clone(),
            task_type: record.view().task_type.clone(),
            label: record.view().label.clone(),
            parameters_json: record.parameters_json().to_owned(),
            tenant: record.view().tenant.clone(),
            deadline_unix_ms: record
                .deadline()
                .map(|d| unix_ms() + d.saturating_duration_since(now).as_millis() as u64),
            submitted_unix_ms: unix_ms(),
        });
    }

    /// Puts back what the store held: final tasks for reading, the others in the queue.
    pub(super) fn restore(&mut self) {
        let Some(recovered) = self.recovered.take() else {
            return;
        };
        let (now, now_unix) = (Instant::now(), unix_ms());
        let ago = |unix: u64| {
            let age = Duration::from_millis(now_unix.saturating_sub(unix));
            (age, now.checked_sub(age).unwrap_or(now))
        };
        let finished = recovered.finished.len();
        for task in recovered.finished {
            let (age, at) = ago(task.finished_unix_ms);
            let record = TaskRecord::finished(self.tasks.next_key(), task.view, at);
            self.tasks.restore_finished(record, age);
        }
        let pending = recovered.pending.len();
        for pending in recovered.pending {
            let task = pending.task;
            let key = self.tasks.next_key();
            let deadline = task
                .deadline_unix_ms
                .map(|d| now + Duration::from_millis(d.saturating_sub(now_unix)));
            self.tasks.insert(TaskRecord::queued(
                key,
                NewRecord {
                    task_id: task.task_id,
                    task_type: task.task_type,
                    label: task.label,
                    tenant: task.tenant,
                    parameters_json: task.parameters_json,
                    deadline,
                    submitted: ago(task.submitted_unix_ms).1,
                    attempts: pending.attempts,
                },
            ));
            self.parked.push(key);
        }
        if finished + pending > 0 {
            tracing::info!(finished, pending, "tasks restored from the store");
        }
        self.retry_parked();
    }

    /// Queues restored tasks whose task type has a worker again; fails those out of time
    /// or attempts.
    pub(super) fn retry_parked(&mut self) {
        if self.draining || self.parked.is_empty() {
            return;
        }
        let (now, now_s) = (Instant::now(), self.now());
        let mut actions = Vec::new();
        for key in std::mem::take(&mut self.parked) {
            let Some(record) = self.tasks.get_key(key) else {
                continue;
            };
            if record.view().status.is_final() {
                continue; // cancelled while it waited
            }
            let attempts = record.view().attempts;
            if record.deadline().is_some_and(|d| d <= now) {
                actions.push(Action::Fail {
                    task: key,
                    reason: Reject::DeadlineExceeded,
                });
                continue;
            }
            if attempts >= self.max_attempts {
                actions.push(Action::Fail {
                    task: key,
                    reason: Reject::AttemptsExhausted { attempts },
                });
                continue;
            }
            let spec = TaskSpec {
                key,
                label: record.view().label.clone(),
                task_type: record.view().task_type.clone(),
                deadline: record
                    .deadline()
                    .map(|d| now_s + d.saturating_duration_since(now).as_secs_f64()),
                share: self.tenants.share(&record.view().tenant),
            };
            match self.scheduler.submit(spec, now_s) {
                Ok(started) => actions.extend(started),
                Err(Reject::NoCapableWorker { .. } | Reject::QueueFull { .. }) => {
                    self.parked.push(key)
                }
                Err(reason) => actions.push(Action::Fail { task: key, reason }),
            }
        }
        self.apply(actions);
    }

    /// A worker joined: restored tasks may run now; while draining it is told to drain too.
    pub(super) fn joined_hook(&mut self, worker_id: &str) {
        if self.draining {
            if let Some(entry) = self.workers.get(worker_id) {
                entry.commands.do_send(Dispatch(WorkerCommand::Drain));
            }
        }
        self.retry_parked();
    }

    /// Tasks workers are really running now.
    fn running_on_workers(&self) -> usize {
        self.workers
            .values()
            .map(|entry| self.busy(entry.key))
            .sum()
    }
}

impl Handler<BeginDrain> for Dispatcher {
    type Result = usize;

    fn handle(&mut self, _: BeginDrain, _: &mut Context<Self>) -> usize {
        if !self.draining {
            self.draining = true;
            tracing::info!(
                workers = self.workers.len(),
                running = self.running_on_workers(),
                "draining: no new tasks start; workers told to drain"
            );
            for entry in self.workers.values() {
                entry.commands.do_send(Dispatch(WorkerCommand::Drain));
            }
        }
        self.running_on_workers()
    }
}

impl Handler<EndDrain> for Dispatcher {
    type Result = usize;

    fn handle(&mut self, _: EndDrain, _: &mut Context<Self>) -> usize {
        self.draining = true;
        self.tasks.drop_waiters()
    }
}
