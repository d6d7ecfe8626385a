//! `simulate --trace` on a real server's own event log: record a few tasks live, then
//! replay them offline under every policy.

use std::process::Command;

use serde_json::Value;

use crate::common::{serve, task, BIN};

#[tokio::test]
async fn a_real_event_log_replays_under_every_policy_with_its_measured_times() {
    let server = serve(&[], &[]);
    let _w1 = server.sim_worker("w-1", 2, 0.02);
    let _w2 = server.sim_worker("w-2", 2, 0.02);
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
    let log = server.log_dir.join("events.jsonl");
    for _ in 0..200 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("\"task_completed\"").count() == submitted.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

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
        .arg(&log)
        .output()
        .expect("run simulate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
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
