//! `simulate --trace` on a real server's own event log: record a few tasks live, then
//! replay them offline under every policy.

use std::process::Command;

use serde_json::Value;

use std::path::PathBuf;

use crate::common::{serve, task, Proc, Server, BIN};

/// Runs nine tasks over three labels on two simulated workers (time scale 0.02) and waits
/// until the log sink has written every completion to the files `parts` names. The
/// workers are returned: while they stay, nothing more is logged.
async fn record_nine_tasks(server: &Server, parts: impl Fn() -> Vec<PathBuf>) -> [Proc; 2] {
    let workers = [
        server.sim_worker("w-1", 2, 0.02),
        server.sim_worker("w-2", 2, 0.02),
    ];
    server.wait_workers(2).await;
    let labels = ["label-1", "label-2", "label-3"];
    let mut submitted = Vec::new();
    for i in 0..9 {
        let id = format!("t-{i}");
        let task_type = if i % 2 == 0 {
            "sample_task_1"
        } else {
            "sample_task_2"
        };
        let (status, view) = server
            .post("/send-task", &task(&id, task_type, labels[i % 3]))
            .await;
        assert!(
            status == 200 || status == 201 || status == 202,
            "{status} {view}"
        );
        submitted.push(id);
    }
    for id in &submitted {
        assert_eq!(server.wait_final(id).await["status"], "completed");
    }
    // The log sink writes on its own thread: wait for every completion to land.
    for _ in 0..200 {
        let completed: usize = parts()
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                text.matches("\"task_completed\"").count()
            })
            .sum();
        if completed == submitted.len() {
            return workers;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "the event log never held all {} completions",
        submitted.len()
    );
}

/// `simulate --json --trace FILES...` with two workers and every policy: its report.
fn replay(files: &[PathBuf]) -> Value {
    let output = Command::new(BIN)
        .args([
            "simulate",
            "--workers",
            "2",
            "--policy",
            "all",
            "--json",
            "--trace",
        ])
        .args(files)
        .output()
        .expect("run simulate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

#[tokio::test]
async fn a_real_event_log_replays_under_every_policy_with_its_measured_times() {
    let server = serve(&[], &[]);
    let log = server.log_dir.join("events.jsonl");
    let _workers = record_nine_tasks(&server, || vec![log.clone()]).await;
    let report = replay(&[log]);
    assert_eq!(report["config"]["requests"], 9);
    assert_eq!(report["config"]["distinct_labels"], 3);
    assert_eq!(report["config"]["loads_lower_bound"], 3);
    let results = report["results"].as_object().unwrap();
    assert_eq!(results.len(), 4);
    for (policy, r) in results {
        assert_eq!(
            (r["completed"].as_u64(), r["failed"].as_u64()),
            (Some(9), Some(0)),
            "{policy}"
        );
        assert!(
            r["label_misses"].as_u64().unwrap() >= 3,
            "{policy}: every label loads once"
        );
        // The replay runs the measured times (time scale 0.02: tens of milliseconds),
        // not the simulated task types' 1 s and 5 s.
        let runtime = r["mean_task_runtime_s"].as_f64().unwrap();
        assert!(runtime > 0.0 && runtime < 0.5, "{policy}: {runtime}");
    }

    // Without pool flags, the pool the log recorded: two workers holding two labels.
    let output = Command::new(BIN)
        .args(["simulate", "--policy", "affinity", "--json", "--trace"])
        .arg(server.log_dir.join("events.jsonl"))
        .output()
        .expect("run simulate");
    assert!(output.status.success());
    let recorded: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let config = &recorded["config"];
    assert_eq!(
        (&config["workers"], &config["max_labels"], &config["slots"]),
        (&Value::from(2), &Value::from(2), &Value::from(1)),
        "{config}"
    );
    assert_eq!(config["pool"], "as the event log recorded");
    assert!(report["config"]
        .get("pool")
        .is_some_and(|p| p == "as the event log recorded"));

    // A log that is not there is a clear error, not a report.
    let output = Command::new(BIN)
        .args(["simulate", "--trace"])
        .arg(server.log_dir.join("missing.jsonl"))
        .output()
        .expect("run simulate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read trace"), "{stderr}");
}

#[tokio::test]
async fn a_rotated_event_log_replays_as_one_from_its_parts_in_any_order() {
    // Parts of 4 KiB: nine tasks' records (about 9 KiB) fill several, so no part holds
    // them all.
    let server = serve(
        &[],
        &[
            ("SMART_ROUTING_LOG_MAX_BYTES", "4096"),
            ("SMART_ROUTING_LOG_KEEP", "50"),
        ],
    );
    let parts = || {
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&server.log_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("events.jsonl"))
            })
            .collect();
        parts.sort();
        parts
    };
    let _workers = record_nine_tasks(&server, parts).await;
    let mut files = parts();
    assert!(files.len() >= 3, "rotated into parts: {files:?}");
    // Newest first, as a shell lists `events.jsonl*`, and oldest first: the same replay.
    let report = replay(&files);
    assert_eq!(report["config"]["requests"], 9);
    assert_eq!(report["config"]["distinct_labels"], 3);
    files.reverse();
    assert_eq!(replay(&files)["results"], report["results"]);
    for (policy, r) in report["results"].as_object().unwrap() {
        assert_eq!(r["completed"].as_u64(), Some(9), "{policy}");
    }

    // A trace among the parts is refused: its times are not the log's.
    let trace = server.log_dir.join("trace.jsonl");
    std::fs::write(
        &trace,
        "{\"at_s\": 0, \"label\": \"a\", \"task_type\": \"sample_task_1\"}\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["simulate", "--trace"])
        .args(&files)
        .arg(&trace)
        .output()
        .expect("run simulate");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("trace.jsonl is a trace, not an event log"),
        "{stderr}"
    );
}
