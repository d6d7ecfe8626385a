//! Every setting of `smart-routing serve`, declared once: its doc, type, default, check
//! and, for the few the command line takes, its flag. Grouped by the component that reads
//! them. Its environment variable is `SMART_ROUTING_` and its name in capitals (a section's
//! with the section's prefix); `config/default.toml` documents each for operators.
//!
//! To add a setting: one line here, and its documented default in `config/default.toml`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::declare::settings;
use super::secret::Secret;
use super::trust::TenantSettings;
use super::value::{
    at_least, finite_seconds, knob, min_copies, percent, positive_seconds, positive_share, prior,
    share, time_constant, Setting,
};
use super::{ConfigError, Flag};
use crate::routing::{Health, Placement, Policy, RoutingConfig};
use crate::store::Durability;

/// The routing core's defaults, which `[routing]` starts from.
fn core() -> RoutingConfig {
    RoutingConfig::default()
}

/// The planner's defaults, which `[placement]` starts from.
fn placement() -> Placement {
    Placement::default()
}

/// The routing core's health defaults, which `[health]` starts from.
fn health() -> Health {
    Health::default()
}

settings! {
    group server: ServerSettings, "Where the server listens and how it stops." {
        /// Address to listen on; port 0 picks a free port.
        bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080)),
            flag("bind", "Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks one)");
        /// Address of the Open Inference Protocol's gRPC service; off when unset.
        grpc_bind: Option<SocketAddr> = None,
            flag("grpc-bind", "Address of the Open Inference Protocol's gRPC service (off unless set)");
        /// On SIGTERM/SIGINT, running tasks get this long to finish, in seconds.
        shutdown_grace_s: u64 = 30;
        /// PEM certificate chain: with `tls_key`, the HTTP API and the worker WebSocket
        /// are HTTPS/WSS on `bind`, and the gRPC service is TLS; off when unset.
        tls_cert: Option<PathBuf> = None,
            flag("tls-cert", "PEM certificate chain: HTTPS/WSS on --bind, TLS on gRPC (needs --tls-key)");
        /// The PEM private key of `tls_cert`.
        tls_key: Option<PathBuf> = None,
            flag("tls-key", "PEM private key of --tls-cert");
    }

    group api: ApiSettings, "What the HTTP API and the Open Inference Protocol accept of a request." {
        /// Largest accepted request body, in bytes.
        max_body_bytes: usize = 16 * 1024 * 1024;
        /// Largest model accepted as a raw `POST /upload-model` body, in bytes.
        max_upload_bytes: usize = 512 * 1024 * 1024;
        /// Longest accepted `task_id`, `label` or `task_type`, in bytes.
        max_name_len: usize = 256;
        /// Deepest nesting of arrays and objects accepted in `parameters_json` (422 above).
        max_json_depth: usize = 64, check at_least(1);
        /// A request body not received in full this long after its head is answered 408
        /// (raw model uploads: this long without a byte), in seconds.
        body_timeout_s: u64 = 30, check at_least(1);
        /// Bytes of chunks that may wait for a streaming client (`/run-task` with
        /// `Accept: text/event-stream`); past it the task ends `slow_reader`.
        stream_buffer_bytes: usize = 1024 * 1024, check at_least(1024);
        /// Largest accepted `deadline_ms` (422 above it).
        max_deadline_ms: u64 = 24 * 60 * 60 * 1000, check at_least(1);
        /// Token clients must present on task and model endpoints; empty = none. Its
        /// holders are the anonymous tenant.
        client_token: Secret = Secret::default();
        /// A file holding `client_token` (a mounted Secret); not both.
        client_token_file: Option<PathBuf> = None;
        /// `[tenants.NAME]`: each with its token, `max_in_flight`, `priority` and
        /// `weight` (file only). With tenants, every request needs a token.
        tenants: BTreeMap<String, TenantSettings> = BTreeMap::new();
    }

    group workers: WorkerSettings, "Remote workers' connections (the worker sessions)." {
        /// Token any remote worker may present (`Authorization: Bearer ...`); empty = none.
        worker_token: Secret = Secret::default();
        /// A file holding `worker_token`; not both.
        worker_token_file: Option<PathBuf> = None;
        /// `[worker_tokens]`: a worker id's own token; that id is accepted with it alone,
        /// and the token for no other id (file only).
        worker_tokens: BTreeMap<String, Secret> = BTreeMap::new();
        /// A directory with one file per worker id holding its token (a mounted Secret).
        worker_tokens_dir: Option<PathBuf> = None;
        /// A worker silent for this long is dropped, in seconds.
        heartbeat_timeout_s: u64 = 15, check at_least(1);
        /// A worker connection that has not registered after this long is closed (seconds).
        register_timeout_s: u64 = 10, check at_least(1);
        /// Log records a remote worker may send per second (a burst of as many); the rest
        /// are dropped and counted.
        log_rate_per_worker: u32 = 100;
    }

    group dispatch: DispatchSettings, "How the dispatcher places, retries and bounds tasks." {
        /// affinity, original, random or least-loaded.
        policy: Policy = Policy::Affinity,
            flag("policy", "affinity, original, random or least-loaded");
        /// Tasks waiting for a worker beyond this are refused with 503.
        max_queue: usize = 10_000, check at_least(1);
        /// Times a task is tried when its worker goes away.
        max_attempts: u32 = 3, check at_least(1);
        /// A running task with no result after this long is stopped and retried (seconds).
        max_run_s: f64 = 3600.0, check positive_seconds;
        /// `max_run_s` for particular task types (file only).
        max_run_s_by_type: BTreeMap<String, f64> = BTreeMap::new();
        /// Tasks whose only capable workers left wait this long for one to return (seconds).
        worker_grace_s: f64 = 10.0, check finite_seconds;
        /// Refuse at once a task whose deadline the current estimate says cannot be met.
        admission_control: bool = true;
        /// A label no worker holds and no task used for this long is forgotten (seconds).
        label_idle_s: u64 = 600, check at_least(1);
    }

    group tasks: TaskSettings, "How long finished tasks stay readable (the task table and the store)." {
        /// How long finished tasks stay readable at `GET /tasks/{id}`, in seconds.
        task_retention_s: u64 = 30 * 60;
        /// At most this many finished tasks are kept (the oldest go first).
        max_finished_tasks: usize = 100_000;
        /// Bytes of finished tasks kept for `GET /tasks/{id}` at most (oldest dropped first).
        max_retained_bytes: usize = 256 * 1024 * 1024;
    }

    group store: StoreSettings, "The durable task store." {
        /// Where the durable task store lives.
        data_dir: PathBuf = PathBuf::from("data"),
            flag("data-dir", "Directory of the durable task store (default: data)");
        /// os (a commit survives a crash of the process), fsync (also power loss) or off.
        durability: Durability = Durability::Os;
    }

    group log: EventLogSettings, "The event log (the log sink)." {
        /// Where the event log is written.
        log_dir: PathBuf = PathBuf::from("logs"),
            flag("log-dir", "Directory for the JSONL event log");
        /// Whether task events and worker logs are written to `<log_dir>/events.jsonl`.
        event_log: bool = true;
        /// The event log is rotated when it would grow past this many bytes.
        log_max_bytes: u64 = 64 * 1024 * 1024, check at_least(4096);
        /// Rotated event logs kept (`events.jsonl.1` newest ... `.N`); 0 keeps none.
        log_keep: usize = 5;
        /// Largest event-log record in bytes; longer worker log messages and fields are cut.
        log_record_max_bytes: usize = 16 * 1024, check at_least(1024);
    }

    group telemetry: TelemetrySettings, "Metrics and traces." {
        /// `/metrics` keeps a series of its own for at most this many labels; the rest are
        /// summed under `label="_other"`.
        metrics_max_labels: usize = 100;
        /// ...and for at most this many worker ids (the rest under `worker_id="_other"`).
        metrics_max_workers: usize = 100;
        /// OTLP/HTTP endpoint that task spans are exported to (e.g.
        /// `http://127.0.0.1:4318/v1/traces`); empty = no export.
        otlp_endpoint: String = String::new();
    }

    section routing: RoutingSection, prefix "",
        "The routing core's knobs (`[routing]`; `simulate --set` takes them too)." {
        prior_load_s: f64 = core().priors.load_s, check prior;
        prior_run_s: f64 = core().priors.run_s, check prior;
        demand_tau_s: f64 = core().demand_tau_s, check time_constant;
        churn_factor: f64 = core().churn_factor, check knob;
        starvation_factor: f64 = core().starvation_factor, check knob;
        reload_weight: f64 = core().reload_weight, check knob;
        patience_loads: f64 = core().patience_loads, check knob;
        reload_horizon_loads: f64 = core().reload_horizon_loads, check knob;
        preload_margin: f64 = core().preload_margin, check knob;
        preload_idle_loads: f64 = core().preload_idle_loads, check knob;
        /// Copies each label keeps at least, whatever its demand (`[routing.copies]`,
        /// label = n; file only), like Triton's instance count or KServe's minReplicas.
        copies: BTreeMap<String, u32> = BTreeMap::new(), check min_copies;
    }

    section placement: PlacementSection, prefix "placement_",
        "How many copies of each label the pool holds (`[placement]`; `simulate --set placement_...` takes them too)." {
        /// Seconds between plans of the copies per label ("inf": no planner).
        interval_s: f64 = placement().interval_s, check positive_seconds;
        /// The share of one task slot a label's planned copy may keep busy.
        copy_utilization: f64 = placement().copy_utilization, check positive_share;
        /// A target above what demand needs drops by one copy after this many seconds.
        shrink_after_s: f64 = placement().shrink_after_s, check finite_seconds;
        /// Loads the planner itself starts per window (a task's own miss is not counted)...
        load_budget: u32 = placement().load_budget;
        /// ...of this many seconds.
        load_window_s: f64 = placement().load_window_s, check positive_seconds;
        /// A label is active while a task for it arrived within this many seconds.
        active_s: f64 = placement().active_s, check positive_seconds;
        /// Time constant of the work and blocked-arrival rates the planner measures.
        rate_tau_s: f64 = placement().rate_tau_s, check time_constant;
        /// The share of the spare label slots that second copies may take.
        spare_share: f64 = placement().spare_share, check share;
        /// Load times a task waits for a busy holder of a label at its target of copies
        /// before loading one more (`patience_loads` when lower).
        patience_at_target_loads: f64 = placement().patience_at_target_loads, check knob;
        /// Act on the demand's targets (evict above them first, load up to them); off:
        /// they are shown, and only `[routing.copies]` is loaded and kept.
        follow_demand: bool = placement().follow_demand;
    }

    section health: HealthSection, prefix "health_",
        "How workers that stay connected but misbehave are found out (`[health]`; `simulate --set health_...` takes them too)." {
        /// Times a task that failed without the worker saying why (or by the worker's own
        /// fault) runs again, each time on another worker; 0: never.
        retry_failed: u32 = health().retry_failed;
        /// Retries may add at most this share of the tasks submitted over the window...
        retry_budget_ratio: f64 = health().retry_budget_ratio, check knob;
        /// ...plus this many a second whatever the submissions...
        retry_budget_min_per_s: f64 = health().retry_budget_min_per_s, check knob;
        /// ...counted over this many seconds.
        retry_budget_window_s: f64 = health().retry_budget_window_s, check at_least(1.0);
        /// A worker with this many failures of its own in a row is ejected.
        consecutive_failures: u32 = health().consecutive_failures, check at_least(1);
        /// A worker whose share of own failures among its last `failure_window` results
        /// reaches this, while its peers' share is under half of it, is ejected.
        failure_rate: f64 = health().failure_rate, check share;
        failure_window: u32 = health().failure_window, check at_least(2);
        /// An ejected worker is probed with one task after this many seconds, doubled at
        /// each new ejection...
        ejection_base_s: f64 = health().ejection_base_s, check positive_seconds;
        /// ...up to this many.
        ejection_max_s: f64 = health().ejection_max_s, check positive_seconds;
        /// At most this percentage of the connected workers is ejected at once (at least
        /// one may be, and one always serves); 0 disables ejection.
        max_ejection_percent: f64 = health().max_ejection_percent, check percent;
        /// A worker that failed to load a label is not given it for this many seconds,
        /// doubled at each new failure...
        load_backoff_s: f64 = health().load_backoff_s, check positive_seconds;
        /// ...up to this many.
        load_backoff_max_s: f64 = health().load_backoff_max_s, check positive_seconds;
        /// A task running this many times longer than its label and type ever took (over
        /// at least 20 runs) is stuck: taken off its worker and run elsewhere ("inf": never).
        stuck_factor: f64 = health().stuck_factor, check knob;
        /// ...but never before this many seconds.
        stuck_floor_s: f64 = health().stuck_floor_s, check finite_seconds;
    }

    section local: LocalSection, prefix "local_", "In-process ONNX workers (`[local]`)." {
        /// The model repository: one folder per label.
        models: Option<PathBuf> = None,
            flag("models", "Model repository for local ONNX workers (one folder per label)");
        workers: u32 = 0,
            flag("local-workers", "Number of in-process ONNX workers");
        max_labels: u32 = 2;
        slots: u32 = 32;
        /// ONNX Runtime's shared library; empty = `ORT_DYLIB_PATH`, then the setup script's.
        ort_lib: Option<PathBuf> = None,
            flag("ort-lib", "ONNX Runtime's shared library (else ORT_DYLIB_PATH, else scripts/setup.sh's copy)");
    }
}
