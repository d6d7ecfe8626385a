//! The simulator's events and their order in the event heap.

use std::cmp::Ordering;

use crate::routing::{Fault, LabelId, TaskKey};

/// What happens next in virtual time.
#[derive(Debug)]
pub(super) enum Event {
    /// A closed-loop producer sends its next request.
    Wake {
        producer: usize,
    },
    /// The trace entry with this index arrives.
    Arrival {
        index: usize,
    },
    LoadDone {
        worker: usize,
        label: LabelId,
        /// A preload, which held a slot of its own until now.
        preload: bool,
    },
    /// A worker's preload failed (it answers `LabelEvicted`).
    PreloadFailed {
        worker: usize,
        label: LabelId,
    },
    /// Attempt `attempt` of a task ended on its worker: a result, or a failure whose
    /// fault the worker gives.
    TaskDone {
        worker: usize,
        task: TaskKey,
        attempt: u32,
        failure: Option<Fault>,
    },
    Tick,
}

/// An event at a virtual time; `seq` keeps equal times in the order they were scheduled.
#[derive(Debug)]
pub(super) struct Scheduled {
    pub at: f64,
    pub seq: u64,
    pub event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so the max-heap pops the earliest (then first scheduled) event.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.total_cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}
