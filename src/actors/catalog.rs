//! Which labels the connected workers can load, from the catalogs they announce, so a
//! task for a label none of the workers of its task type can load is refused at
//! submission. Plain data owned by the dispatcher; no actix, no clock (time comes in as
//! an argument).

use std::collections::HashMap;

use crate::routing::{Time, WorkerKey};

/// The connected workers' catalogs, per task type: only a worker that runs a task's type
/// can make its label loadable (a simulated worker that loads "anything" does not make
/// an unknown ONNX model label acceptable for `embed_texts`).
#[derive(Debug, Default)]
pub struct Catalogs {
    by_type: HashMap<String, LabelIndex>,
    grace_s: f64,
}

impl Catalogs {
    pub fn new(grace_s: f64) -> Self {
        Self {
            by_type: HashMap::new(),
            grace_s,
        }
    }

    /// A worker that runs `task_types` joined with this catalog (`None`: any label).
    pub fn joined(
        &mut self,
        worker: WorkerKey,
        task_types: &[String],
        catalog: Option<Vec<String>>,
    ) {
        for task_type in task_types {
            let grace_s = self.grace_s;
            self.by_type
                .entry(task_type.clone())
                .or_insert_with(|| LabelIndex::new(grace_s))
                .joined(worker, catalog.clone());
        }
    }

    /// Labels that became loadable on a worker (a model uploaded to its repository).
    pub fn extend(&mut self, worker: WorkerKey, labels: &[String]) {
        for index in self.by_type.values_mut() {
            index.extend(worker, labels);
        }
    }

    pub fn left(&mut self, worker: WorkerKey, now: Time) {
        for index in self.by_type.values_mut() {
            index.left(worker, now);
        }
    }

    /// Whether a connected worker of `task_type` (or one that left within the grace
    /// period) can load `label`. With no such worker at all there is nothing to say
    /// (`true`): the task is refused or kept for its task type's sake instead.
    pub fn can_load(&self, task_type: &str, label: &str, now: Time) -> bool {
        self.by_type
            .get(task_type)
            .is_none_or(|index| index.can_load(label, now))
    }
}

/// The catalogs of the workers of one task type. A worker without one can load any label.
#[derive(Debug, Default)]
struct LabelIndex {
    /// Each worker's catalog (`None`: any label).
    workers: HashMap<WorkerKey, Option<Vec<String>>>,
    /// Workers that can load any label.
    any: u32,
    /// Label -> connected workers whose catalog lists it.
    counts: HashMap<String, u32>,
    /// When the last worker able to load any label left.
    any_gone_at: Option<Time>,
    /// Labels whose last announcer left, and when (kept for the grace period).
    gone: HashMap<String, Time>,
    grace_s: f64,
}

impl LabelIndex {
    fn new(grace_s: f64) -> Self {
        Self {
            grace_s,
            ..Self::default()
        }
    }

    fn joined(&mut self, worker: WorkerKey, catalog: Option<Vec<String>>) {
        match &catalog {
            None => self.any += 1,
            Some(labels) => {
                for label in labels {
                    *self.counts.entry(label.clone()).or_default() += 1;
                    self.gone.remove(label);
                }
            }
        }
        self.workers.insert(worker, catalog);
    }

    fn extend(&mut self, worker: WorkerKey, labels: &[String]) {
        let Some(Some(catalog)) = self.workers.get_mut(&worker) else {
            return;
        };
        for label in labels {
            if !catalog.contains(label) {
                catalog.push(label.clone());
                *self.counts.entry(label.clone()).or_default() += 1;
                self.gone.remove(label);
            }
        }
    }

    fn left(&mut self, worker: WorkerKey, now: Time) {
        match self.workers.remove(&worker) {
            Some(None) => {
                self.any -= 1;
                if self.any == 0 {
                    self.any_gone_at = Some(now);
                }
            }
            Some(Some(labels)) => {
                for label in labels {
                    if let Some(count) = self.counts.get_mut(&label) {
                        *count -= 1;
                        if *count == 0 {
                            self.counts.remove(&label);
                            self.gone.insert(label, now);
                        }
                    }
                }
            }
            None => {}
        }
        let grace = self.grace_s;
        self.gone.retain(|_, at| now - *at < grace);
    }

    fn can_load(&self, label: &str, now: Time) -> bool {
        let recent = |at: Option<Time>| at.is_some_and(|at| now - at < self.grace_s);
        self.workers.is_empty()
            || self.any > 0
            || self.counts.contains_key(label)
            || recent(self.any_gone_at)
            || recent(self.gone.get(label).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_loadable_while_an_announcer_is_connected_or_just_left() {
        let mut catalogs = Catalogs::new(10.0);
        let types = ["t".to_owned()];
        let (a, b) = (WorkerKey(1), WorkerKey(2));
        assert!(catalogs.can_load("t", "x", 0.0)); // nobody connected: not ours to refuse
        catalogs.joined(a, &types, Some(vec!["m1".into()]));
        assert!(catalogs.can_load("t", "m1", 0.0));
        assert!(!catalogs.can_load("t", "m2", 0.0));
        catalogs.extend(a, &["m2".into()]);
        assert!(catalogs.can_load("t", "m2", 0.0));
        catalogs.joined(b, &types, Some(vec!["other".into()]));
        catalogs.left(a, 1.0);
        assert!(catalogs.can_load("t", "m1", 5.0)); // within the grace period
        assert!(!catalogs.can_load("t", "m1", 11.0));
        catalogs.joined(a, &types, None); // can load anything
        assert!(catalogs.can_load("t", "m9", 12.0));
        catalogs.left(a, 12.0);
        assert!(catalogs.can_load("t", "m9", 13.0));
        assert!(!catalogs.can_load("t", "m9", 30.0));
    }

    #[test]
    fn only_workers_of_the_task_type_make_a_label_loadable() {
        let mut catalogs = Catalogs::new(0.0);
        catalogs.joined(WorkerKey(1), &["embed".into()], Some(vec!["m1".into()]));
        catalogs.joined(WorkerKey(2), &["sim".into()], None);
        assert!(catalogs.can_load("embed", "m1", 0.0));
        assert!(!catalogs.can_load("embed", "m2", 0.0)); // the sim worker loads anything, not embed
        assert!(catalogs.can_load("sim", "m2", 0.0));
        assert!(catalogs.can_load("other", "m2", 0.0)); // no worker of that type: not ours to refuse
    }
}
