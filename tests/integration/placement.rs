//! Placement against the real binary: the operator's `[routing.copies]` are loaded
//! before any task asks, and `/labels/stats` shows each label's target, copies held and
//! demand.

use std::time::Duration;

use serde_json::Value;

use crate::common::{serve, task, Server};

/// Polls `/labels/stats` until `done` holds for it (10 s at most).
async fn stats_until(server: &Server, done: impl Fn(&Value) -> bool) -> Value {
    let mut stats = Value::Null;
    for _ in 0..200 {
        (_, stats) = server.get("/labels/stats").await;
        if done(&stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/labels/stats never got there: {stats}");
}

#[tokio::test]
async fn operator_copies_are_loaded_ahead_of_tasks_and_shown_with_demand() {
    let dir = std::env::temp_dir().join(format!("sr-placement-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, "[routing.copies]\nresnet = 2\n").unwrap();
    let server = serve(&["--config", config.to_str().unwrap()], &[]);
    let _workers: Vec<_> = ["w1", "w2", "w3"]
        .iter()
        .map(|id| server.sim_worker(id, 2, 0.01))
        .collect();
    server.wait_workers(3).await;
    // No task named resnet: the planner loads its two copies on idle workers.
    let stats = stats_until(&server, |s| s["resnet"]["copies"] == 2).await;
    assert_eq!(stats["resnet"]["target_copies"], 2, "{stats}");
    assert_eq!(stats["resnet"]["requests"], 0, "{stats}");
    let (_, labels) = server.get("/labels").await;
    assert_eq!(
        labels["resnet"].as_array().map(Vec::len),
        Some(2),
        "{labels}"
    );
    // A label in use gets a target and a demand.
    for i in 0..5 {
        let (status, _) = server
            .post(
                "/run-task",
                &task(&format!("b{i}"), "sample_task_1", "bert"),
            )
            .await;
        assert_eq!(status, 200);
    }
    let stats = stats_until(&server, |s| s["bert"]["target_copies"].as_u64() >= Some(1)).await;
    assert!(stats["bert"]["demand"].as_f64().unwrap() > 0.0, "{stats}");
    assert!(stats["bert"]["copies"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["resnet"]["copies"], 2, "the minimum is kept: {stats}");
    std::fs::remove_dir_all(&dir).ok();
}
