//! Prometheus metrics, kept with the `prometheus-client` crate and encoded in the
//! Prometheus text format at `GET /metrics`. The dispatcher records every task that ends
//! ([`Metrics::task_ended`]); the gauges are set from the actors' answers when scraped.
//! Label and worker values are bounded ([`bound`]): past the bound they are summed under
//! `_other`. To add a counter: a field, one `register` line, one `inc` where it happens.
//! The store's writer records its group commits ([`Metrics::store_committed`]).
//! Plain data: depends on the task types only, never on the actors or the HTTP layer.

pub mod bound;
mod labels;
pub mod series;
pub mod window;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::tasks::{Status, TaskView};
use bound::Bound;
use labels::{
    LabelOnly, LabelStatus, StatusOnly, TenantOnly, TenantStatus, WorkerOnly, WorkerStatus,
};

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

type Histograms<S> = Family<S, Histogram, fn() -> Histogram>;
type SecondsCounter = Counter<f64, AtomicU64>;

/// 1 ms to about 2 minutes, doubling.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 18))
}

/// The pool's state when scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolGauges {
    pub workers: usize,
    pub queued: usize,
    pub running: usize,
    pub labels_loaded: usize,
    /// Tasks restored from the store, still waiting for a capable worker.
    pub restored_waiting: usize,
}

pub struct Metrics {
    registry: Registry,
    labels: Bound,
    workers: Bound,
    latency: Histograms<LabelStatus>,
    queue_wait: Histograms<LabelStatus>,
    load: Histograms<LabelStatus>,
    run: Histograms<LabelStatus>,
    finished: Family<StatusOnly, Counter>,
    label_tasks: Family<LabelOnly, Counter>,
    label_misses: Family<LabelOnly, Counter>,
    label_load_seconds: Family<LabelOnly, SecondsCounter>,
    label_run_seconds: Family<LabelOnly, SecondsCounter>,
    worker_tasks: Family<WorkerStatus, Counter>,
    worker_misses: Family<WorkerOnly, Counter>,
    gauge_workers: Gauge,
    gauge_queued: Gauge,
    gauge_running: Gauge,
    gauge_labels_loaded: Gauge,
    gauge_restored_waiting: Gauge,
    results_dropped: Counter,
    worker_ejected: Family<WorkerOnly, Gauge>,
    worker_ejections: Family<WorkerOnly, Counter>,
    task_retries: Counter,
    commit_batch: Histogram,
    commit_wait: Histogram,
    tenant_tasks: Family<TenantStatus, Counter>,
    tenant_latency: Histograms<TenantOnly>,
    tenant_limited: Family<TenantOnly, Counter>,
    tenant_in_flight: Family<TenantOnly, Gauge>,
    first_chunk: Histograms<LabelOnly>,
    chunks: Family<LabelOnly, Counter>,
}

/// The lowercase name of a status, as the API shows it.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Queued => "queued",
        Status::Running => "running",
        Status::Completed => "completed",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
    }
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

impl Metrics {
    /// Series are kept for at most `max_labels` labels and `max_workers` workers each.
    pub fn new(max_labels: usize, max_workers: usize) -> Self {
        let histograms = || Histograms::<LabelStatus>::new_with_constructor(seconds_histogram);
        let mut metrics = Self {
            registry: Registry::with_prefix("smart_routing"),
            labels: Bound::new(max_labels),
            workers: Bound::new(max_workers),
            latency: histograms(),
            queue_wait: histograms(),
            load: histograms(),
            run: histograms(),
            finished: Family::default(),
            label_tasks: Family::default(),
            label_misses: Family::default(),
            label_load_seconds: Family::default(),
            label_run_seconds: Family::default(),
            worker_tasks: Family::default(),
            worker_misses: Family::default(),
            gauge_workers: Gauge::default(),
            gauge_queued: Gauge::default(),
            gauge_running: Gauge::default(),
            gauge_labels_loaded: Gauge::default(),
            gauge_restored_waiting: Gauge::default(),
            results_dropped: Counter::default(),
            worker_ejected: Family::default(),
            worker_ejections: Family::default(),
            task_retries: Counter::default(),
            // 1 to 8192 writes (the store's largest batch), doubling.
            commit_batch: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            // 0.1 ms to about 3 s, doubling.
            commit_wait: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            tenant_tasks: Family::default(),
            tenant_latency: Histograms::<TenantOnly>::new_with_constructor(seconds_histogram),
            tenant_limited: Family::default(),
            tenant_in_flight: Family::default(),
            first_chunk: Histograms::<LabelOnly>::new_with_constructor(seconds_histogram),
            chunks: Family::default(),
        };
        metrics.register();
        metrics
    }

    /// Help texts end without a period: the crate adds one.
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "task_latency_seconds",
            "Submission to final result, by label and final status",
            self.latency.clone(),
        );
        r.register(
            "task_queue_wait_seconds",
            "Submission to the start of the last attempt, by label and final status",
            self.queue_wait.clone(),
        );
        r.register(
            "task_load_seconds",
            "Label load time of tasks that had to load their label, by label and status",
            self.load.clone(),
        );
        r.register(
            "task_run_seconds",
            "Run time on the worker, by label and final status",
            self.run.clone(),
        );
        r.register(
            "tasks_finished",
            "Tasks finished, by final status",
            self.finished.clone(),
        );
        r.register(
            "label_tasks",
            "Tasks a worker reported a result for, per label",
            self.label_tasks.clone(),
        );
        r.register(
            "label_misses",
            "Tasks that had to load their label first",
            self.label_misses.clone(),
        );
        r.register(
            "label_load_seconds",
            "Time spent loading the label",
            self.label_load_seconds.clone(),
        );
        r.register(
            "label_run_seconds",
            "Time spent running tasks",
            self.label_run_seconds.clone(),
        );
        r.register(
            "worker_tasks",
            "Tasks finished per worker, by final status",
            self.worker_tasks.clone(),
        );
        r.register(
            "worker_label_misses",
            "Tasks per worker that had to load their label first",
            self.worker_misses.clone(),
        );
        r.register("workers", "Connected workers", self.gauge_workers.clone());
        r.register(
            "tasks_queued",
            "Tasks waiting for a worker",
            self.gauge_queued.clone(),
        );
        r.register(
            "tasks_running",
            "Tasks running on workers",
            self.gauge_running.clone(),
        );
        r.register(
            "labels_loaded",
            "Distinct labels loaded or loading on at least one worker",
            self.gauge_labels_loaded.clone(),
        );
        r.register(
            "tasks_restored_waiting",
            "Tasks restored from the store, waiting for a capable worker",
            self.gauge_restored_waiting.clone(),
        );
        r.register(
            "results_dropped",
            "Results that arrived for tasks already final or given to another worker",
            self.results_dropped.clone(),
        );
        r.register(
            "worker_ejected",
            "1 while a worker is ejected for failures that stand out (no tasks, no preloads)",
            self.worker_ejected.clone(),
        );
        r.register(
            "worker_ejections",
            "Times a worker was ejected",
            self.worker_ejections.clone(),
        );
        r.register(
            "task_retries",
            "Failed attempts run again on another worker (failed loads included)",
            self.task_retries.clone(),
        );
        r.register(
            "store_commit_batch_size",
            "Writes (accepted tasks and final results) per store transaction",
            self.commit_batch.clone(),
        );
        r.register(
            "store_commit_wait_seconds",
            "From the oldest write of a store transaction being queued to its commit",
            self.commit_wait.clone(),
        );
        r.register(
            "tenant_tasks",
            "Tasks finished per tenant, by final status",
            self.tenant_tasks.clone(),
        );
        r.register(
            "tenant_task_latency_seconds",
            "Submission to final result, by tenant",
            self.tenant_latency.clone(),
        );
        r.register(
            "tenant_limited",
            "Submissions refused with tenant_limit (429): the tenant had max_in_flight tasks",
            self.tenant_limited.clone(),
        );
        r.register(
            "task_first_chunk_seconds",
            "Submission to the first chunk of a streaming task, by label",
            self.first_chunk.clone(),
        );
        r.register(
            "task_chunks",
            "Chunks streaming tasks sent, by label",
            self.chunks.clone(),
        );
        r.register(
            "tenant_tasks_in_flight",
            "Tasks queued or running, per tenant",
            self.tenant_in_flight.clone(),
        );
    }

    /// Counts a chunk of a streaming task; the first one with its time since submission.
    pub fn task_chunk(&self, label: &str, first_after: Option<Duration>) {
        let by = LabelOnly {
            label: self.labels.series(label),
        };
        self.chunks.get_or_create(&by).inc();
        if let Some(after) = first_after {
            self.first_chunk
                .get_or_create(&by)
                .observe(after.as_secs_f64());
        }
    }

    /// Counts a submission refused for its tenant's `max_in_flight`.
    pub fn tenant_limited(&self, tenant: &str) {
        let by = TenantOnly {
            tenant: tenant.to_owned(),
        };
        self.tenant_limited.get_or_create(&by).inc();
    }

    /// Sets the tasks `tenant` has queued or running.
    pub fn tenant_in_flight(&self, tenant: &str, tasks: usize) {
        let by = TenantOnly {
            tenant: tenant.to_owned(),
        };
        self.tenant_in_flight
            .get_or_create(&by)
            .set(i64::try_from(tasks).unwrap_or(i64::MAX));
    }

    /// Drops the series of a label the dispatcher forgot, freeing its place in the bound.
    pub fn forget_label(&self, label: &str) {
        if !self.labels.forget(label) {
            return; // summed under `_other`: nothing of its own to drop
        }
        for status in [
            Status::Queued,
            Status::Running,
            Status::Completed,
            Status::Failed,
            Status::Cancelled,
        ] {
            let by = LabelStatus {
                label: label.to_owned(),
                status: status_name(status).to_owned(),
            };
            for family in [&self.latency, &self.queue_wait, &self.load, &self.run] {
                family.remove(&by);
            }
        }
        let by = LabelOnly {
            label: label.to_owned(),
        };
        self.label_tasks.remove(&by);
        self.label_misses.remove(&by);
        self.label_load_seconds.remove(&by);
        self.label_run_seconds.remove(&by);
        self.first_chunk.remove(&by);
        self.chunks.remove(&by);
    }

    /// Counts a worker's result that was dropped (its task was final or elsewhere).
    pub fn result_dropped(&self) {
        self.results_dropped.inc();
    }

    /// Counts a failed attempt that runs again elsewhere.
    pub fn task_retried(&self) {
        self.task_retries.inc();
    }

    /// A worker was ejected (`true`) or serves again, at least one task at a time.
    pub fn worker_ejected(&self, worker_id: &str, ejected: bool) {
        let by = WorkerOnly {
            worker_id: self.workers.series(worker_id),
        };
        self.worker_ejected
            .get_or_create(&by)
            .set(i64::from(ejected));
        if ejected {
            self.worker_ejections.get_or_create(&by).inc();
        }
    }

    /// A worker left: its ejection gauge goes (its counters stay).
    pub fn worker_left(&self, worker_id: &str) {
        self.worker_ejected.remove(&WorkerOnly {
            worker_id: self.workers.series(worker_id),
        });
    }

    /// Records a store transaction of `writes` writes, committed `wait` after the oldest
    /// of them was queued.
    pub fn store_committed(&self, writes: usize, wait: Duration) {
        self.commit_batch.observe(writes as f64);
        self.commit_wait.observe(wait.as_secs_f64());
    }

    /// Records a task that reached a final status.
    pub fn task_ended(&self, view: &TaskView) {
        let status = status_name(view.status).to_owned();
        let label = self.labels.series(&view.label);
        let by = LabelStatus {
            label: label.clone(),
            status: status.clone(),
        };
        let timings = &view.timings;
        self.finished
            .get_or_create(&StatusOnly {
                status: status.clone(),
            })
            .inc();
        self.latency
            .get_or_create(&by)
            .observe(seconds(timings.total_ms));
        let tenant = TenantOnly {
            tenant: view.tenant.clone(),
        };
        self.tenant_latency
            .get_or_create(&tenant)
            .observe(seconds(timings.total_ms));
        self.tenant_tasks
            .get_or_create(&TenantStatus {
                tenant: tenant.tenant,
                status: status.clone(),
            })
            .inc();
        let Some(worker) = &view.worker else {
            return; // never ran: no queue wait, load or run to tell
        };
        self.queue_wait
            .get_or_create(&by)
            .observe(seconds(timings.queue_ms));
        self.run.get_or_create(&by).observe(seconds(timings.run_ms));
        let worker_id = self.workers.series(worker);
        self.worker_tasks
            .get_or_create(&WorkerStatus {
                worker_id: worker_id.clone(),
                status,
            })
            .inc();
        let label = LabelOnly { label };
        if view.status != Status::Cancelled {
            self.label_tasks.get_or_create(&label).inc();
            self.label_run_seconds
                .get_or_create(&label)
                .inc_by(seconds(timings.run_ms));
        }
        if view.label_miss {
            self.load
                .get_or_create(&by)
                .observe(seconds(timings.load_ms));
            self.label_misses.get_or_create(&label).inc();
            self.label_load_seconds
                .get_or_create(&label)
                .inc_by(seconds(timings.load_ms));
            self.worker_misses
                .get_or_create(&WorkerOnly { worker_id })
                .inc();
        }
    }

    /// The text exposition, with the gauges set to `pool`.
    pub fn encode(&self, pool: PoolGauges) -> Result<String, std::fmt::Error> {
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.gauge_workers.set(as_i64(pool.workers));
        self.gauge_queued.set(as_i64(pool.queued));
        self.gauge_running.set(as_i64(pool.running));
        self.gauge_labels_loaded.set(as_i64(pool.labels_loaded));
        self.gauge_restored_waiting
            .set(as_i64(pool.restored_waiting));
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(100, 100)
    }
}

#[cfg(test)]
mod tests;
