//! Admission at submission: a task whose label no connected worker can load, or whose
//! deadline the routing core's estimate says cannot be met, is refused before it is
//! accepted. Plain data owned by the dispatcher; time comes in as an argument.

use super::catalog::Catalogs;
use super::messages::{NewTask, SubmitError};
use crate::routing::{Scheduler, Time, WorkerKey};

/// The dispatcher's bounds beyond the routing core's (see `Config`).
#[derive(Debug, Clone, Copy)]
pub struct DispatcherBounds {
    /// Refuse a task whose deadline the current estimate says cannot be met.
    pub admission_control: bool,
    /// How long a label stays loadable after the last worker announcing it left.
    pub worker_grace_s: f64,
    /// Bytes of finished tasks retained at most.
    pub max_retained_bytes: usize,
    /// Bytes of chunks that may wait for one streaming client.
    pub stream_buffer_bytes: usize,
}

/// What admission needs to know: the workers' catalogs and whether to check deadlines.
#[derive(Debug, Default)]
pub struct Admission {
    pub catalogs: Catalogs,
    deadlines: bool,
}

impl Admission {
    pub fn new(bounds: &DispatcherBounds) -> Self {
        Self {
            catalogs: Catalogs::new(bounds.worker_grace_s),
            deadlines: bounds.admission_control,
        }
    }

    /// A worker that runs `task_types` joined with this catalog (`None`: any label).
    pub fn joined(
        &mut self,
        worker: WorkerKey,
        task_types: &[String],
        catalog: Option<Vec<String>>,
    ) {
        self.catalogs.joined(worker, task_types, catalog);
    }

    pub fn left(&mut self, worker: WorkerKey, now: Time) {
        self.catalogs.left(worker, now);
    }

    /// Refuses a task no connected worker can load, or whose deadline cannot be met.
    pub fn admit(
        &self,
        scheduler: &Scheduler,
        task: &NewTask,
        now: Time,
    ) -> Result<(), SubmitError> {
        if !self.catalogs.can_load(&task.task_type, &task.label, now) {
            return Err(SubmitError::UnknownLabel(task.label.clone()));
        }
        let Some(deadline) = task.deadline.filter(|_| self.deadlines) else {
            return Ok(());
        };
        match scheduler.estimate_s(&task.label, &task.task_type, now) {
            Some(estimate) if estimate > deadline.as_secs_f64() => {
                Err(SubmitError::DeadlineUnmeetable {
                    estimate_ms: (estimate * 1000.0).ceil() as u64,
                    deadline_ms: deadline.as_millis() as u64,
                })
            }
            _ => Ok(()),
        }
    }
}
