//! The HTTP API: shapes, affinity, and every bad input.

use serde_json::json;

use crate::common::{serve, task};

#[tokio::test]
async fn health_workers_labels_and_run_task() {
    let server = serve(&[], &[]);
    assert_eq!(server.get("/health").await, (200, json!({"message": "OK"})));
    assert_eq!(server.workers().await, Vec::<String>::new());
    let _w1 = server.sim_worker("w-1", 2, 0.02);
    let _w2 = server.sim_worker("w-2", 2, 0.02);
    server.wait_workers(2).await;
    let mut workers = server.workers().await;
    workers.sort();
    assert_eq!(workers, ["w-1", "w-2"]);

    let (status, view) = server
        .post("/run-task", &task("t-1", "sample_task_1", "label-1"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["task_id"], "t-1");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["label_miss"], true);
    assert_eq!(view["result"]["label"], "label-1");
    assert!(view["timings"]["load_ms"].as_u64().unwrap() > 0);
    let worker = view["worker"].as_str().unwrap().to_owned();
    let (_, labels) = server.get("/labels").await;
    assert_eq!(labels, json!({ "label-1": [worker] }));
    // The event log has the task's completion with what the benchmark report reads.
    // (written by the log sink's own thread, so it may land just after the response).
    let mut done = None;
    for _ in 0..100 {
        let log = std::fs::read_to_string(server.log_dir.join("events.jsonl")).unwrap_or_default();
        done = log
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|e| e["event"] == "task_completed");
        if done.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let done = done.expect("a task_completed event");
    assert_eq!(
        (done["task_id"].as_str(), done["worker_id"].as_str()),
        (Some("t-1"), Some(worker.as_str()))
    );
    assert_eq!(done["label_miss"], true);
    assert!(done["unix_ms"].as_u64().is_some() && done["timings"]["run_ms"].as_u64().is_some());
}

#[tokio::test]
async fn metrics_count_tasks_and_label_misses() {
    let server = serve(&[], &[]);
    let _w = server.sim_worker("w-1", 2, 0.01);
    server.wait_workers(1).await;
    for i in 0..3 {
        let (status, _) = server
            .post(
                "/run-task",
                &task(&format!("m-{i}"), "sample_task_1", "label-\"q\""),
            )
            .await;
        assert_eq!(status, 200);
    }
    let text = server.metrics().await;
    for line in [
        "smart_routing_workers 1",
        "smart_routing_tasks_queued 0",
        "smart_routing_tasks_finished_total{status=\"completed\"} 3",
        "smart_routing_label_tasks_total{label=\"label-\\\"q\\\"\"} 3",
        "smart_routing_label_misses_total{label=\"label-\\\"q\\\"\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
}

#[tokio::test]
async fn send_task_then_poll_it() {
    let server = serve(&[], &[]);
    let _w = server.sim_worker("w-1", 2, 0.02);
    server.wait_workers(1).await;
    let (status, body) = server
        .post("/send-task", &task("s-1", "sample_task_2", "label-1"))
        .await;
    assert_eq!(status, 202);
    assert_eq!(body["task_id"], "s-1");
    let view = server.wait_final("s-1").await;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["task_type"], "sample_task_2");
    assert_eq!(view["worker"], "w-1");
    assert!(
        view["timings"]["total_ms"].as_u64().unwrap()
            >= view["timings"]["run_ms"].as_u64().unwrap()
    );
    assert_eq!(server.get("/tasks/nope").await.0, 404);
}

#[tokio::test]
async fn repeated_tasks_on_one_label_stay_on_its_holder() {
    let server = serve(&[], &[]);
    let _w1 = server.sim_worker("w-1", 2, 0.01);
    let _w2 = server.sim_worker("w-2", 2, 0.01);
    server.wait_workers(2).await;
    let (_, first) = server
        .post("/run-task", &task("a-0", "sample_task_1", "label-7"))
        .await;
    assert_eq!(first["label_miss"], true);
    for i in 1..10 {
        let (status, view) = server
            .post(
                "/run-task",
                &task(&format!("a-{i}"), "sample_task_1", "label-7"),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(view["label_miss"], false, "task {i} missed: {view}");
        assert_eq!(view["worker"], first["worker"]);
    }
}

#[tokio::test]
async fn bad_submissions_get_clear_errors_and_change_nothing() {
    let server = serve(&[], &[("SMART_ROUTING_MAX_BODY_BYTES", "2048")]);
    let _w = server.sim_worker("w-1", 2, 0.02);
    server.wait_workers(1).await;
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (
            json!({"task_id": "x", "task_type": "sample_task_1", "label": "l"}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": "", "task_type": "sample_task_1", "label": "l", "parameters_json": "{}"}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": "x", "task_type": "sample_task_1", "label": " ", "parameters_json": "{}"}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": "x", "task_type": "sample_task_1", "label": "l", "parameters_json": "{not json"}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": "x", "task_type": "sample_task_1", "label": "l", "parameters_json": {"a": 1}}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": 5, "task_type": "sample_task_1", "label": "l", "parameters_json": "{}"}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": "x".repeat(300), "task_type": "sample_task_1", "label": "l", "parameters_json": "{}"}),
            422,
            "invalid_field",
        ),
        (
            json!({"task_id": "x", "task_type": "no_such_type", "label": "l", "parameters_json": "{}"}),
            503,
            "no_capable_worker",
        ),
    ];
    for (body, status, code) in cases {
        for path in ["/run-task", "/send-task"] {
            let (got, error) = server.post(path, &body).await;
            assert_eq!(
                (got, error["error"]["code"].as_str()),
                (status, Some(code)),
                "{path} {body}"
            );
            assert!(error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }
    let (status, error) = server.post_raw("/run-task", "{\"task_id\": ").await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("malformed_request"))
    );
    let huge = json!({"task_id": "big", "task_type": "sample_task_1", "label": "l", "parameters_json": "x".repeat(4096)});
    let (status, error) = server.post("/run-task", &huge).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    // Nothing was created by any of them.
    assert_eq!(server.get("/tasks/x").await.0, 404);
    assert_eq!(server.get("/tasks/big").await.0, 404);
    assert_eq!(server.get("/labels").await.1, json!({}));
}

#[tokio::test]
async fn duplicate_task_id_in_flight_is_a_conflict() {
    let server = serve(&[], &[]);
    let _w = server.sim_worker("w-1", 2, 0.2);
    server.wait_workers(1).await;
    let (status, _) = server
        .post("/send-task", &task("dup", "sample_task_2", "label-1"))
        .await;
    assert_eq!(status, 202);
    let (status, error) = server
        .post("/send-task", &task("dup", "sample_task_2", "label-1"))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let view = server.wait_final("dup").await;
    assert_eq!(view["status"], "completed");
    // Once finished, the id can be used again.
    assert_eq!(
        server
            .post("/send-task", &task("dup", "sample_task_1", "label-1"))
            .await
            .0,
        202
    );
}

#[tokio::test]
async fn queued_task_can_be_cancelled_and_deadlines_give_504() {
    let server = serve(&[], &[]);
    let _w = server.sim_worker("w-1", 2, 0.5);
    server.wait_workers(1).await;
    // Occupy the only slot for a while (sample_task_2 takes >= 0.25 s at this scale).
    assert_eq!(
        server
            .post("/send-task", &task("busy", "sample_task_2", "label-1"))
            .await
            .0,
        202
    );
    assert_eq!(
        server
            .post("/send-task", &task("waiting", "sample_task_1", "label-1"))
            .await
            .0,
        202
    );
    let response = server
        .http
        .delete(format!("{}/tasks/waiting", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let view: serde_json::Value = response.json().await.unwrap();
    assert_eq!(view["status"], "cancelled");
    let mut late = task("late", "sample_task_1", "label-1");
    late["deadline_ms"] = json!(50);
    let (status, view) = server.post("/run-task", &late).await;
    assert_eq!(
        (status, view["error"]["code"].as_str()),
        (504, Some("deadline_exceeded"))
    );
    assert_eq!(server.wait_final("busy").await["status"], "completed");
}
