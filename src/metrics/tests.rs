//! The metrics' names, labels and bounds, as Prometheus reads them.

use super::*;
use crate::tasks::Timings;

fn view(label: &str, worker: Option<&str>, status: Status, miss: bool) -> TaskView {
    TaskView {
        task_id: "t".into(),
        status,
        label: label.into(),
        task_type: "embed".into(),
        tenant: "anonymous".into(),
        worker: worker.map(str::to_owned),
        label_miss: miss,
        attempts: 1,
        result: None,
        error: None,
        timings: Timings {
            queue_ms: 5,
            load_ms: 1500,
            run_ms: 20,
            total_ms: 1530,
        },
    }
}

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix} in\n{text}"))
}

#[test]
fn histograms_and_counters_by_label_status_and_worker() {
    let metrics = Metrics::new(10, 10);
    metrics.task_ended(&view("a", Some("w1"), Status::Completed, true));
    metrics.task_ended(&view("a", Some("w1"), Status::Completed, false));
    metrics.task_ended(&view("a", None, Status::Failed, false));
    let text = metrics
        .encode(PoolGauges {
            workers: 2,
            queued: 3,
            ..PoolGauges::default()
        })
        .unwrap();
    let count = r#"smart_routing_task_latency_seconds_count{label="a",status="completed"}"#;
    assert_eq!(line(&text, count), format!("{count} 2"));
    let le = r#"smart_routing_task_load_seconds_bucket{label="a",status="completed",le="2.048"}"#;
    assert_eq!(line(&text, le), format!("{le} 1"));
    let total = r#"smart_routing_tasks_finished_total{status="failed"}"#;
    assert_eq!(line(&text, total), format!("{total} 1"));
    let worker = r#"smart_routing_worker_tasks_total{worker_id="w1",status="completed"}"#;
    assert_eq!(line(&text, worker), format!("{worker} 2"));
    let seconds = r#"smart_routing_label_load_seconds_total{label="a"}"#;
    assert_eq!(line(&text, seconds), format!("{seconds} 1.5"));
    assert_eq!(
        line(&text, "smart_routing_tasks_queued "),
        "smart_routing_tasks_queued 3"
    );
    assert_eq!(
        line(&text, "smart_routing_workers "),
        "smart_routing_workers 2"
    );
}

#[test]
fn store_commits_are_histograms_of_size_and_wait() {
    let metrics = Metrics::new(10, 10);
    metrics.store_committed(3, Duration::from_micros(700));
    metrics.store_committed(100, Duration::from_millis(30));
    let text = metrics.encode(PoolGauges::default()).unwrap();
    let size = r#"smart_routing_store_commit_batch_size_bucket{le="4"}"#;
    assert_eq!(line(&text, size), format!("{size} 1"));
    let wait = "smart_routing_store_commit_wait_seconds_count";
    assert_eq!(line(&text, wait), format!("{wait} 2"));
    let sum = "smart_routing_store_commit_batch_size_sum";
    assert_eq!(line(&text, sum), format!("{sum} 103.0"));
}

#[test]
fn labels_past_the_bound_are_summed_under_other() {
    let metrics = Metrics::new(2, 10);
    for label in ["a", "b", "c", "d", "a"] {
        metrics.task_ended(&view(label, Some("w"), Status::Completed, false));
    }
    let text = metrics.encode(PoolGauges::default()).unwrap();
    let other = r#"smart_routing_label_tasks_total{label="_other"}"#;
    assert_eq!(line(&text, other), format!("{other} 2"));
    let a = r#"smart_routing_label_tasks_total{label="a"}"#;
    assert_eq!(line(&text, a), format!("{a} 2"));
    assert!(!text.contains(r#"label="c""#), "{text}");
}

#[test]
fn a_forgotten_label_loses_its_series_and_frees_its_place() {
    let metrics = Metrics::new(1, 10);
    metrics.task_ended(&view("a", Some("w"), Status::Completed, true));
    metrics.forget_label("a");
    metrics.task_ended(&view("b", Some("w"), Status::Completed, false));
    let text = metrics.encode(PoolGauges::default()).unwrap();
    assert!(!text.contains(r#"label="a""#), "{text}");
    let b = r#"smart_routing_label_tasks_total{label="b"}"#;
    assert_eq!(line(&text, b), format!("{b} 1"));
}
