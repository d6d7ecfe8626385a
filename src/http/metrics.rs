//! `GET /metrics`: Prometheus text exposition of the dispatcher's counters and the
//! registry's per-label statistics.

use std::fmt::Write;

use actix_web::{web, HttpResponse};

use super::{ApiError, AppState};
use crate::actors::messages::{GetLabelStats, GetStats, ListWorkers};
use crate::actors::registry::LabelStats;

/// One per-label figure, read off the registry's statistics.
type Figure = fn(&LabelStats) -> f64;

/// Escapes a label value for the exposition format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = state.dispatcher.send(GetStats).await?;
    let workers = state.registry.send(ListWorkers).await?.len();
    let labels = state.registry.send(GetLabelStats).await?;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
        );
    };
    gauge(
        "smart_routing_workers",
        "Connected workers.",
        workers as u64,
    );
    gauge(
        "smart_routing_tasks_queued",
        "Tasks waiting for a worker.",
        stats.queued as u64,
    );
    gauge(
        "smart_routing_tasks_running",
        "Tasks running on workers.",
        stats.running as u64,
    );
    gauge(
        "smart_routing_tasks_restored_waiting",
        "Tasks restored from the store, waiting for a capable worker.",
        stats.restored_waiting as u64,
    );
    out.push_str("# HELP smart_routing_tasks_finished_total Tasks finished, by final status.\n");
    out.push_str("# TYPE smart_routing_tasks_finished_total counter\n");
    for (status, n) in [
        ("completed", stats.finished.completed),
        ("failed", stats.finished.failed),
        ("cancelled", stats.finished.cancelled),
    ] {
        let _ = writeln!(
            out,
            "smart_routing_tasks_finished_total{{status=\"{status}\"}} {n}"
        );
    }
    out.push_str(
        "# HELP smart_routing_results_dropped_total Results that arrived for tasks already final or given to another worker.\n",
    );
    out.push_str("# TYPE smart_routing_results_dropped_total counter\n");
    let _ = writeln!(
        out,
        "smart_routing_results_dropped_total {}",
        stats.results_dropped
    );
    let families: [(&str, &str, Figure); 4] = [
        (
            "smart_routing_label_tasks_total",
            "Tasks finished per label.",
            |s| s.requests as f64,
        ),
        (
            "smart_routing_label_misses_total",
            "Tasks that had to load their label first.",
            |s| s.misses as f64,
        ),
        (
            "smart_routing_label_load_seconds_total",
            "Time spent loading the label.",
            |s| s.load_ms_total as f64 / 1000.0,
        ),
        (
            "smart_routing_label_run_seconds_total",
            "Time spent running tasks.",
            |s| s.run_ms_total as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in families {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n");
        for (label, stats) in &labels {
            let _ = writeln!(
                out,
                "{name}{{label=\"{}\"}} {}",
                escape(label),
                value(stats)
            );
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out))
}
