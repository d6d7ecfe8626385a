//! LabelRegistry: the catalog and read side. It learns from events the dispatcher
//! publishes and answers `/workers`, `/labels` and statistics without queueing behind
//! dispatch decisions. Holds no routing logic.

use std::collections::{BTreeMap, BTreeSet};

use actix::prelude::*;
use serde::Serialize;

use super::board::{LabelBoard, LabelRow, WorkerLabels};
use super::messages::{
    GetLabelBoard, GetLabelStats, IsConnected, LabelPlaced, LabelStatsRecorded, LabelsForgotten,
    LabelsPlanned, ListLabels, ListWorkers, Placement, RepositoryLabels, RunsTaskType, TaskEnded,
    WorkerConnected, WorkerDisconnected,
};
use crate::metrics::window::LatencyWindow;

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LabelStats {
    pub requests: u64,
    pub misses: u64,
    pub load_ms_total: u64,
    pub run_ms_total: u64,
    /// Copies the placement planner wants held (0: none planned).
    pub target_copies: u32,
    /// Workers holding or loading the label now.
    pub copies: u32,
    /// Busy slot-seconds per second its recent tasks bring (the planner's measure).
    pub demand: f64,
}

#[derive(Default)]
pub struct LabelRegistry {
    /// Connected workers in order of joining.
    workers: Vec<String>,
    /// Connected worker -> the task types it runs.
    task_types: BTreeMap<String, Vec<String>>,
    /// Label -> workers holding or loading it.
    placements: BTreeMap<String, BTreeSet<String>>,
    repository: BTreeSet<String>,
    stats: BTreeMap<String, LabelStats>,
    /// Label -> the planner's (target copies, demand), as last sent.
    plans: BTreeMap<String, (u32, f64)>,
    /// Worker -> label -> loading or loaded (the dashboard).
    worker_labels: BTreeMap<String, BTreeMap<String, Placement>>,
    /// End-to-end latency of recently completed tasks (the dashboard).
    latency: LatencyWindow,
}

impl LabelRegistry {
    /// Every label with counts, a plan or a copy: its counts and its copies now.
    fn label_stats(&self) -> BTreeMap<String, LabelStats> {
        let mut stats = self.stats.clone();
        for label in self.plans.keys().chain(self.placements.keys()) {
            stats.entry(label.clone()).or_default();
        }
        for (label, entry) in &mut stats {
            (entry.target_copies, entry.demand) =
                self.plans.get(label).copied().unwrap_or_default();
            entry.copies = self.placements.get(label).map_or(0, |h| h.len() as u32);
        }
        stats
    }
}

fn now_s() -> f64 {
    crate::clock::unix_ms() as f64 / 1000.0
}

impl Actor for LabelRegistry {
    type Context = Context<Self>;
}

impl Handler<WorkerConnected> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: WorkerConnected, _: &mut Context<Self>) {
        if !self.workers.contains(&msg.worker_id) {
            self.workers.push(msg.worker_id.clone());
        }
        self.task_types.insert(msg.worker_id, msg.task_types);
    }
}

impl Handler<WorkerDisconnected> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: WorkerDisconnected, _: &mut Context<Self>) {
        self.workers.retain(|w| *w != msg.worker_id);
        self.task_types.remove(&msg.worker_id);
        self.worker_labels.remove(&msg.worker_id);
        for holders in self.placements.values_mut() {
            holders.remove(&msg.worker_id);
        }
        self.placements.retain(|_, holders| !holders.is_empty());
    }
}

impl Handler<LabelPlaced> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: LabelPlaced, _: &mut Context<Self>) {
        let held = self.worker_labels.entry(msg.worker_id.clone()).or_default();
        match msg.placement {
            Placement::Evicted => held.remove(&msg.label),
            placement => held.insert(msg.label.clone(), placement),
        };
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
            self.plans.remove(&label);
        }
    }
}

impl Handler<LabelsPlanned> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: LabelsPlanned, _: &mut Context<Self>) {
        self.plans = msg
            .labels
            .into_iter()
            .map(|(label, target, demand)| (label, (target, demand)))
            .collect();
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

impl Handler<RunsTaskType> for LabelRegistry {
    type Result = bool;

    fn handle(&mut self, msg: RunsTaskType, _: &mut Context<Self>) -> bool {
        self.task_types
            .values()
            .any(|types| types.contains(&msg.task_type))
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
        MessageResult(self.label_stats())
    }
}

impl Handler<TaskEnded> for LabelRegistry {
    type Result = ();

    fn handle(&mut self, msg: TaskEnded, _: &mut Context<Self>) {
        if msg.completed {
            self.latency.record(now_s(), &msg.label, msg.latency_s);
        }
    }
}

impl Handler<GetLabelBoard> for LabelRegistry {
    type Result = MessageResult<GetLabelBoard>;

    fn handle(&mut self, _: GetLabelBoard, _: &mut Context<Self>) -> Self::Result {
        let mut latency = self.latency.percentiles(now_s());
        let all = self.label_stats();
        let mut names: BTreeSet<String> = all.keys().cloned().collect();
        names.extend(latency.keys().cloned());
        let labels = names
            .into_iter()
            .map(|label| {
                let stats = all.get(&label).cloned().unwrap_or_default();
                LabelRow {
                    latency: latency.remove(&label).map(Into::into),
                    label,
                    requests: stats.requests,
                    misses: stats.misses,
                    hit_rate: (stats.requests > 0)
                        .then(|| 1.0 - stats.misses as f64 / stats.requests as f64),
                    copies: stats.copies,
                    target_copies: stats.target_copies,
                    demand: stats.demand,
                }
            })
            .collect();
        let workers = self
            .workers
            .iter()
            .map(|worker_id| {
                let mut labels = WorkerLabels::default();
                for (label, placement) in self.worker_labels.get(worker_id).into_iter().flatten() {
                    match placement {
                        Placement::Loaded => labels.loaded.push(label.clone()),
                        _ => labels.loading.push(label.clone()),
                    }
                }
                (worker_id.clone(), labels)
            })
            .collect();
        MessageResult(LabelBoard {
            workers,
            labels,
            labels_placed: self.placements.len(),
        })
    }
}
