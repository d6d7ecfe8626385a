//! LabelRegistry: the catalog and read side. It learns from events the dispatcher
//! publishes and answers `/workers`, `/labels` and statistics without queueing behind
//! dispatch decisions. Holds no routing logic.

use std::collections::{BTreeMap, BTreeSet};

use actix::prelude::*;
use serde::Serialize;

use super::messages::{
    GetLabelStats, IsConnected, LabelPlaced, LabelStatsRecorded, LabelsForgotten, ListLabels,
    ListWorkers, Placement, RepositoryLabels, WorkerConnected, WorkerDisconnected,
};

#[derive(Debug, Clone, Default, Serialize)]
pub struct LabelStats {
    pub requests: u64,
    pub misses: u64,
    pub load_ms_total: u64,
    pub run_ms_total: u64,
}

#[derive(Default)]
pub struct LabelRegistry {
    /// Connected workers in order of joining.
    workers: Vec<String>,
    /// Label -> workers holding or loading it.
    placements: BTreeMap<String, BTreeSet<String>>,
    repository: BTreeSet<String>,
    stats: BTreeMap<String, LabelStats>,
}

impl Actor for LabelRegistry {
    type Context = Context<Self>;
}

impl Handler<WorkerConnected> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: WorkerConnected, _: &mut Context<Self>) {
        if !self.workers.contains(&msg.worker_id) {
            self.workers.push(msg.worker_id);
        }
    }
}

impl Handler<WorkerDisconnected> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: WorkerDisconnected, _: &mut Context<Self>) {
        self.workers.retain(|w| *w != msg.worker_id);
        for holders in self.placements.values_mut() {
            holders.remove(&msg.worker_id);
        }
        self.placements.retain(|_, holders| !holders.is_empty());
    }
}

impl Handler<LabelPlaced> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: LabelPlaced, _: &mut Context<Self>) {
        match msg.placement {
            Placement::Loading | Placement::Loaded => {
                self.placements
                    .entry(msg.label)
                    .or_default()
                    .insert(msg.worker_id);
            }
            Placement::Evicted => {
                if let Some(holders) = self.placements.get_mut(&msg.label) {
                    holders.remove(&msg.worker_id);
                    if holders.is_empty() {
                        self.placements.remove(&msg.label);
                    }
                }
            }
        }
    }
}

impl Handler<LabelStatsRecorded> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: LabelStatsRecorded, _: &mut Context<Self>) {
        let stats = self.stats.entry(msg.label).or_default();
        stats.requests += 1;
        stats.misses += u64::from(msg.label_miss);
        stats.load_ms_total += msg.load_ms;
        stats.run_ms_total += msg.run_ms;
    }
}

impl Handler<LabelsForgotten> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: LabelsForgotten, _: &mut Context<Self>) {
        for label in msg.labels {
            self.stats.remove(&label);
        }
    }
}

impl Handler<RepositoryLabels> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: RepositoryLabels, _: &mut Context<Self>) {
        self.repository.extend(msg.labels);
    }
}

impl Handler<ListWorkers> for LabelRegistry {
    type Result = MessageResult<ListWorkers>;

    fn handle(&mut self, _: ListWorkers, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.workers.clone())
    }
}

impl Handler<IsConnected> for LabelRegistry {
    type Result = bool;

    fn handle(&mut self, msg: IsConnected, _: &mut Context<Self>) -> bool {
        self.workers.contains(&msg.worker_id)
    }
}

impl Handler<ListLabels> for LabelRegistry {
    type Result = MessageResult<ListLabels>;

    fn handle(&mut self, _: ListLabels, _: &mut Context<Self>) -> Self::Result {
        let mut labels: BTreeMap<String, Vec<String>> = self
            .repository
            .iter()
            .map(|label| (label.clone(), Vec::new()))
            .collect();
        for (label, holders) in &self.placements {
            labels.insert(label.clone(), holders.iter().cloned().collect());
        }
        MessageResult(labels)
    }
}

impl Handler<GetLabelStats> for LabelRegistry {
    type Result = MessageResult<GetLabelStats>;

    fn handle(&mut self, _: GetLabelStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}
