//! Which labels the connected workers can load, from the catalogs they announce, so a
//! task for a label none of them can load is refused at submission. Plain data owned by
//! the dispatcher; no actix, no clock (time comes in as an argument).

use std::collections::HashMap;

use crate::routing::{Time, WorkerKey};

/// The connected workers' catalogs. A worker without one can load any label.
#[derive(Debug, Default)]
pub struct Catalogs {
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

impl Catalogs {
    pub fn new(grace_s: f64) -> Self {
        Self {
            grace_s,
            ..Self::default()
        }
    }

    pub fn joined(&mut self, worker: WorkerKey, catalog: Option<Vec<String>>) {
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

    /// Labels that became loadable on a worker (a model uploaded to its repository).
    pub fn extend(&mut self, worker: WorkerKey, labels: &[String]) {
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

    pub fn left(&mut self, worker: WorkerKey, now: Time) {
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

    /// Whether a connected worker (or one that left within the grace period) can load
    /// `label`. With no worker connected at all, there is nothing to say (`true`): the
    /// task is refused or kept for its task type's sake instead.
    pub fn can_load(&self, label: &str, now: Time) -> bool {
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
        let (a, b) = (WorkerKey(1), WorkerKey(2));
        assert!(catalogs.can_load("x", 0.0)); // nobody connected: not ours to refuse
        catalogs.joined(a, Some(vec!["m1".into()]));
        assert!(catalogs.can_load("m1", 0.0));
        assert!(!catalogs.can_load("m2", 0.0));
        catalogs.extend(a, &["m2".into()]);
        assert!(catalogs.can_load("m2", 0.0));
        catalogs.joined(b, Some(vec!["other".into()]));
        catalogs.left(a, 1.0);
        assert!(catalogs.can_load("m1", 5.0)); // within the grace period
        assert!(!catalogs.can_load("m1", 11.0));
        catalogs.joined(a, None); // can load anything
        assert!(catalogs.can_load("m9", 12.0));
        catalogs.left(a, 12.0);
        assert!(catalogs.can_load("m9", 13.0));
        assert!(!catalogs.can_load("m9", 30.0));
    }
}
