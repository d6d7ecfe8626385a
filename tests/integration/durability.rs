//! The durable store against the real binary: kill -9 of the server loses no accepted
//! task, each task gets exactly one final result, and a store that cannot be opened stops
//! the server at once with a clear error.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{serve, serve_at, task, Server, BIN};

/// Final events (`task_completed`/`task_failed`/`task_cancelled`) per task id in the logs.
pub fn final_events(log_dirs: &[&Path]) -> HashMap<String, usize> {
    let mut finals = HashMap::new();
    for dir in log_dirs {
        let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
        for line in text.lines() {
            let Ok(record) = serde_json::from_str::<Value>(line) else {
                continue; // a line cut short by kill -9
            };
            if matches!(
                record["event"].as_str(),
                Some("task_completed" | "task_failed" | "task_cancelled")
            ) {
                if let Some(id) = record["task_id"].as_str() {
                    *finals.entry(id.to_owned()).or_insert(0) += 1;
                }
            }
        }
    }
    finals
}

fn kill_9(server: &mut Server) {
    server._proc.0.kill().unwrap();
    server._proc.0.wait().unwrap();
}

#[tokio::test]
async fn kill_9_of_the_server_loses_no_accepted_task() {
    let data = std::env::temp_dir().join(format!("sr-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let data_arg = data.display().to_string();
    let mut first = serve(&["--data-dir", &data_arg], &[]);
    // Two workers, one slot each: tasks take ~20 ms (plus loads), so most stay queued.
    let mut w1 = first.sim_worker("w-1", 2, 0.02);
    let _w2 = first.sim_worker("w-2", 2, 0.02);
    first.wait_workers(2).await;
    let ids: Vec<String> = (0..300).map(|i| format!("d-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let label = format!("label-{}", i % 3);
        let (status, body) = first
            .post("/send-task", &task(id, "sample_task_1", &label))
            .await;
        assert_eq!(status, 202, "{body}");
        if i == 100 {
            // One worker dies mid-run too; its task goes back to the queue.
            let _ = w1.0.kill();
            let _ = w1.0.wait();
        }
    }
    // /run-task clients waiting when the server dies lose their connection, not their task.
    let waiting: Vec<_> = (0..40)
        .map(|i| {
            let http = first.http.clone();
            let url = format!("{}/run-task", first.url);
            let body = task(&format!("r-{i}"), "sample_task_1", "label-0");
            tokio::spawn(async move {
                match http.post(url).json(&body).send().await {
                    Ok(response) => response.json::<Value>().await.ok(),
                    Err(_) => None,
                }
            })
        })
        .collect();
    for i in 0..40 {
        // Accepted (readable) before the crash: from here on the task must survive it.
        let id = format!("r-{i}");
        for _ in 0..200 {
            if first.get(&format!("/tasks/{id}")).await.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, before) = first.get("/tasks/d-0").await;
    assert_eq!(before["status"], "completed", "{before}");
    let port = first.port;
    kill_9(&mut first);

    // Same data, same port: the surviving worker reconnects by itself.
    let second = serve_at(
        &format!("127.0.0.1:{port}"),
        &["--data-dir", &data_arg],
        &[],
    );
    let _w1 = second.sim_worker("w-1", 2, 0.02);
    for id in &ids {
        let (status, view) = second.get(&format!("/tasks/{id}")).await;
        assert_eq!(
            status, 200,
            "task {id} accepted before the crash is unknown: {view}"
        );
    }
    assert_eq!(
        second.get("/tasks/d-0").await.1,
        before,
        "a final task reads the same"
    );
    let mut answered = Vec::new();
    for (i, client) in waiting.into_iter().enumerate() {
        if let Some(view) = client.await.unwrap() {
            answered.push((format!("r-{i}"), view));
        }
    }
    let ids: Vec<String> = ids
        .into_iter()
        .chain((0..40).map(|i| format!("r-{i}")))
        .collect();
    let mut completed = 0;
    for id in &ids {
        let view = second.wait_final(id).await;
        if view["status"] == "completed" {
            completed += 1;
        }
    }
    assert_eq!(
        completed,
        ids.len(),
        "every task completes after the restart"
    );
    for (id, view) in answered {
        assert_eq!(
            second.get(&format!("/tasks/{id}")).await.1["result"],
            view["result"]
        );
    }
    // The log sink writes a final event after the store's commit, so the last ones may
    // reach the file just after their task reads final: wait (bounded) for them.
    let ids: HashSet<_> = ids.into_iter().collect();
    let mut finals = final_events(&[&first.log_dir, &second.log_dir]);
    for _ in 0..100 {
        if finals.keys().cloned().collect::<HashSet<_>>() == ids {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        finals = final_events(&[&first.log_dir, &second.log_dir]);
    }
    let twice: Vec<_> = finals.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "tasks with more than one final result: {twice:?}"
    );
    assert_eq!(finals.keys().cloned().collect::<HashSet<_>>(), ids);
}

#[test]
fn a_data_dir_that_cannot_be_opened_stops_the_server_with_one_line() {
    let file = std::env::temp_dir().join(format!("sr-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"a file, not a directory").unwrap();
    let output = std::process::Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the task store"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened");
}

#[tokio::test]
async fn a_task_accepted_with_the_store_off_is_still_served() {
    let server = serve(&[], &[("SMART_ROUTING_DURABILITY", "off")]);
    let _w = server.sim_worker("w-1", 2, 0.01);
    server.wait_workers(1).await;
    let (status, view) = server
        .post("/run-task", &task("t", "sample_task_1", "a"))
        .await;
    assert_eq!((status, &view["status"]), (200, &Value::from("completed")));
    assert!(!server.log_dir.join("data").exists(), "no store is created");
}

#[tokio::test]
async fn a_late_result_is_dropped_counted_and_the_worker_stays() {
    use smart_routing::protocol::{FromWorker, TaskReport, WorkerCommand};
    let server = serve(&[], &[]);
    let mut worker = crate::common::RawWorker::connect(&server, "slow")
        .await
        .unwrap();
    worker.register("slow", &["sample_task_1"], &["a"]).await;
    server.wait_workers(1).await;
    let (status, _) = server
        .post("/send-task", &task("late", "sample_task_1", "a"))
        .await;
    assert_eq!(status, 202);
    loop {
        match worker.next_command().await.unwrap() {
            WorkerCommand::Run(run) => {
                assert_eq!(run.task_id, "late");
                break;
            }
            _ => continue,
        }
    }
    let cancel = server
        .http
        .delete(format!("{}/tasks/late", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status().as_u16(), 200);
    let report = |outcome: Result<String, String>| {
        FromWorker::TaskResult(TaskReport {
            task_id: "late".into(),
            outcome,
            label_miss: false,
            load_ms: 0,
            run_ms: 1,
            failure: smart_routing::protocol::FailureKind::Failed,
        })
    };
    worker.send(&report(Ok("{\"x\":1}".into()))).await;
    worker.send(&report(Ok("{\"x\":2}".into()))).await;
    let metrics = || server.metric("smart_routing_results_dropped_total");
    let mut dropped = None;
    for _ in 0..100 {
        dropped = metrics().await;
        if dropped.as_deref() == Some("2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dropped.as_deref(), Some("2"));
    assert_eq!(
        server.workers().await,
        vec!["slow".to_owned()],
        "still connected"
    );
    let (_, view) = server.get("/tasks/late").await;
    assert_eq!(
        view["status"], "cancelled",
        "the first final result stands: {view}"
    );
}

/// A data directory written by the release of 2026-12-02 (`tests/fixtures/data-2026-12-02`:
/// two completed tasks, one failed at its deadline, one cancelled, one running and one
/// queued when the server was killed -9) restores under this build: finished tasks read
/// back byte for byte, and the unfinished ones run. The queued task's deadline, a day
/// after it was written, was moved to 2100: a fixture must not expire with the calendar.
#[tokio::test]
async fn a_data_dir_of_an_earlier_release_restores() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-2026-12-02");
    let data = std::env::temp_dir().join(format!("sr-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(fixture.join("tasks.sqlite3"), data.join("tasks.sqlite3")).unwrap();
    let data_arg = data.display().to_string();
    // Its finished tasks are older than any default retention.
    let server = serve(
        &["--data-dir", &data_arg],
        &[("SMART_ROUTING_TASK_RETENTION_S", "3000000000")],
    );
    let expected = std::fs::read_to_string(fixture.join("finished-views.jsonl")).unwrap();
    for line in expected.lines() {
        let id = serde_json::from_str::<Value>(line).unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let response = server
            .http
            .get(format!("{}/tasks/{id}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{id}");
        // As written then, with the tenant added since: theirs is the anonymous one.
        let mut view: Value = response.json().await.unwrap();
        let tenant = view.as_object_mut().unwrap().remove("tenant");
        assert_eq!(tenant, Some(Value::from("anonymous")), "{id}");
        assert_eq!(view, serde_json::from_str::<Value>(line).unwrap(), "{id}");
    }
    let _w = server.sim_worker("w-1", 2, 0.01);
    for id in ["running-1", "queued-1"] {
        let view = server.wait_final(id).await;
        assert_eq!(view["status"], "completed", "{view}");
        assert!(view["attempts"].as_u64().unwrap() >= 1, "{view}");
    }
    let _ = std::fs::remove_dir_all(&data);
}
