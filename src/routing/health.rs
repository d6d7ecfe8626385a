//! Worker health, as Envoy's outlier detection does it: a worker whose failures stand out
//! (several in a row, or a share far above its peers') is ejected, gets no task and no
//! preload while it stays connected, is probed with one task at a time after an ejection
//! time that doubles at each new ejection, and comes back on a success. Never more than
//! `max_ejection_percent` of the pool is ejected at once (at least one worker may be, and
//! one always serves; 0 ejects none). Only failures that are the worker's own count: see `faults.rs` for
//! how a failure is found to be the worker's, the task's or nobody's. Also here: a
//! worker's per-label backoff after a failed load.

use std::collections::VecDeque;

use super::config::Health;
use super::fxhash::FxHashMap;
use super::scheduler::Scheduler;
use super::types::{HealthEvent, HealthReport, HealthState, LabelId, Time, WorkerKey};

/// Whether a worker takes work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    Open,
    /// Ejected: nothing.
    Closed,
    /// Probed: one task at a time.
    One,
}

/// A failed load's backoff for one label.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    until: Time,
    /// The backoff after the next failure.
    next_s: f64,
}

#[derive(Debug, Clone, Default)]
pub(super) struct WorkerHealth {
    state: State,
    /// Times it was ejected since it joined.
    ejections: u32,
    /// Its own failures in a row.
    consecutive: u32,
    /// Its last results that counted: `true` for a failure of its own.
    recent: VecDeque<bool>,
    load_backoff: FxHashMap<LabelId, Backoff>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum State {
    #[default]
    Healthy,
    Ejected {
        until: Time,
    },
    Probing,
}

impl WorkerHealth {
    pub fn gate(&self) -> Gate {
        match self.state {
            State::Healthy => Gate::Open,
            State::Ejected { .. } => Gate::Closed,
            State::Probing => Gate::One,
        }
    }

    pub fn state(&self) -> HealthState {
        match self.state {
            State::Healthy => HealthState::Healthy,
            State::Ejected { .. } => HealthState::Ejected,
            State::Probing => HealthState::Probing,
        }
    }

    /// Whether the last `window` results hold enough to judge a share of failures, and
    /// that share.
    fn failure_share(&self, window: u32) -> Option<f64> {
        let n = self.recent.len();
        (n >= (window as usize / 2).max(1))
            .then(|| self.recent.iter().filter(|f| **f).count() as f64 / n as f64)
    }

    fn push(&mut self, failed: bool, window: u32) {
        self.recent.push_back(failed);
        while self.recent.len() > window.max(1) as usize {
            self.recent.pop_front();
        }
    }

    pub fn may_load(&self, label: LabelId, now: Time) -> bool {
        self.load_backoff.get(&label).is_none_or(|b| now >= b.until)
    }

    /// A load of `label` failed: no loads of it for a while (doubling, capped).
    pub fn load_failed(&mut self, label: LabelId, now: Time, config: &Health) {
        let entry = self.load_backoff.entry(label).or_insert(Backoff {
            until: now,
            next_s: config.load_backoff_s,
        });
        entry.until = now + entry.next_s;
        entry.next_s = (entry.next_s * 2.0).min(config.load_backoff_max_s);
    }

    /// A load of `label` succeeded: its backoff is over.
    pub fn load_succeeded(&mut self, label: LabelId) {
        self.load_backoff.remove(&label);
    }

    /// Labels it may not load now.
    pub fn backed_off(&self, now: Time) -> impl Iterator<Item = LabelId> + '_ {
        self.load_backoff
            .iter()
            .filter(move |(_, b)| now < b.until)
            .map(|(label, _)| *label)
    }

    pub fn forget_label(&mut self, label: LabelId) {
        self.load_backoff.remove(&label);
    }
}

impl Scheduler {
    /// A task succeeded on `worker`: its run of failures ends; a probed worker is back.
    pub(super) fn health_success(&mut self, worker: WorkerKey) {
        let window = self.config.health.failure_window;
        let Some(w) = self.workers.get_mut(&worker) else {
            return;
        };
        w.health.consecutive = 0;
        w.health.push(false, window);
        if w.health.state == State::Probing {
            w.health.state = State::Healthy;
            w.health.recent.clear();
            self.health_events.push(HealthEvent {
                worker,
                state: HealthState::Healthy,
                ejections: w.health.ejections,
            });
            self.sync_free(worker);
        }
    }

    /// A failure that is `worker`'s own: it may be ejected (a probed one is, again).
    pub(super) fn health_failure(&mut self, worker: WorkerKey, now: Time) {
        let config = self.config.health.clone();
        let Some(w) = self.workers.get_mut(&worker) else {
            return;
        };
        w.health.consecutive += 1;
        w.health.push(true, config.failure_window);
        let stands_out = match w.health.state {
            State::Probing => true,
            State::Ejected { .. } => false,
            State::Healthy => {
                w.health.consecutive >= config.consecutive_failures
                    || w.health
                        .failure_share(config.failure_window)
                        .is_some_and(|share| {
                            share >= config.failure_rate
                                && self.peers_share(worker) < config.failure_rate / 2.0
                        })
            }
        };
        if stands_out {
            self.eject(worker, now);
        }
    }

    /// The share of failures among the other workers' recent results (0 with none).
    fn peers_share(&self, worker: WorkerKey) -> f64 {
        let (failed, all) = self
            .workers
            .iter()
            .filter(|(k, _)| **k != worker)
            .flat_map(|(_, w)| w.health.recent.iter())
            .fold((0usize, 0usize), |(f, n), failed| {
                (f + usize::from(*failed), n + 1)
            });
        if all == 0 {
            0.0
        } else {
            failed as f64 / all as f64
        }
    }

    /// Ejects `worker` unless that would pass the cap or leave no worker serving.
    fn eject(&mut self, worker: WorkerKey, now: Time) {
        let config = &self.config.health;
        let total = self.workers.len();
        let out = self
            .workers
            .iter()
            .filter(|(k, w)| **k != worker && w.health.state != State::Healthy)
            .count();
        let cap = ((total as f64 * config.max_ejection_percent / 100.0).floor() as usize).max(1);
        if config.max_ejection_percent == 0.0 || out + 1 > cap || out + 1 >= total {
            return;
        }
        let (base, max) = (config.ejection_base_s, config.ejection_max_s);
        let Some(w) = self.workers.get_mut(&worker) else {
            return;
        };
        let doubling = 2f64.powi(w.health.ejections.min(30) as i32);
        w.health.state = State::Ejected {
            until: now + (base * doubling).min(max),
        };
        w.health.ejections += 1;
        w.health.consecutive = 0;
        self.health_events.push(HealthEvent {
            worker,
            state: HealthState::Ejected,
            ejections: w.health.ejections,
        });
        self.sync_free(worker);
    }

    /// Ejected workers whose time is up are probed (one task at a time).
    pub(super) fn end_ejections(&mut self, now: Time) {
        let due: Vec<WorkerKey> = self
            .workers
            .iter()
            .filter(|(_, w)| matches!(w.health.state, State::Ejected { until } if now >= until))
            .map(|(k, _)| *k)
            .collect();
        for worker in due {
            if let Some(w) = self.workers.get_mut(&worker) {
                w.health.state = State::Probing;
                self.health_events.push(HealthEvent {
                    worker,
                    state: HealthState::Probing,
                    ejections: w.health.ejections,
                });
            }
            self.sync_free(worker);
        }
    }

    /// Each worker's health, in key order.
    pub fn worker_health(&self, now: Time) -> Vec<HealthReport> {
        let mut all: Vec<HealthReport> = self
            .workers
            .iter()
            .map(|(k, w)| {
                let h = &w.health;
                let mut load_backoff: Vec<(LabelId, f64)> = h
                    .load_backoff
                    .iter()
                    .filter(|(_, b)| now < b.until)
                    .map(|(label, b)| (*label, b.until - now))
                    .collect();
                load_backoff.sort_by_key(|(label, _)| *label);
                HealthReport {
                    worker: *k,
                    state: h.state(),
                    ejections: h.ejections,
                    consecutive_failures: h.consecutive,
                    failure_rate: h.failure_share(self.config.health.failure_window),
                    probe_in_s: match h.state {
                        State::Ejected { until } => Some((until - now).max(0.0)),
                        _ => None,
                    },
                    load_backoff,
                }
            })
            .collect();
        all.sort_by_key(|r| r.worker);
        all
    }

    /// Drains the health changes since the last call.
    pub fn take_health_events(&mut self) -> Vec<HealthEvent> {
        std::mem::take(&mut self.health_events)
    }
}
