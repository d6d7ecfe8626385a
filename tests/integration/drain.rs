//! SIGTERM: readiness turns 503 at once, new tasks are refused, running tasks finish,
//! every waiting `/run-task` gets an answer, the process exits 0, and what was queued
//! runs after the restart; a drained worker reconnects to the new server by itself.

use std::time::Duration;

use serde_json::Value;

use crate::common::{serve, serve_at, task};

fn sigterm(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_drains_answers_every_waiting_client_and_keeps_queued_tasks() {
    let data = std::env::temp_dir().join(format!("sr-drain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let data_arg = data.display().to_string();
    let mut first = serve(&["--data-dir", &data_arg], &[]);
    // One slot; sample_task_1 runs ~0.3 s at this scale, so one runs and the rest queue.
    let _worker = first.sim_worker("w-1", 2, 0.3);
    first.wait_workers(1).await;
    let clients: Vec<_> = (0..5)
        .map(|i| {
            let http = first.http.clone();
            let url = format!("{}/run-task", first.url);
            let body = task(&format!("r-{i}"), "sample_task_1", "a");
            tokio::spawn(async move {
                let response = http.post(url).json(&body).send().await.unwrap();
                let status = response.status().as_u16();
                let retry_after = response.headers().get("retry-after").is_some();
                let body: Value = response.json().await.unwrap();
                (status, retry_after, body)
            })
        })
        .collect();
    let mut running = None;
    for _ in 0..200 {
        for i in 0..5 {
            let (_, view) = first.get(&format!("/tasks/r-{i}")).await;
            if view["status"] == "running" {
                running = Some(i);
            }
        }
        if running.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let running = running.expect("no task started");
    sigterm(first._proc.0.id());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (ready, body) = first.get("/health/ready").await;
    assert_eq!(
        (ready, &body["error"]["code"]),
        (503, &Value::from("shutting_down"))
    );
    assert_eq!(first.get("/health").await.0, 200, "alive while draining");
    let (status, body) = first
        .post("/send-task", &task("late", "sample_task_1", "a"))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &Value::from("shutting_down"))
    );

    let mut kept = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let (status, retry_after, body) = client.await.unwrap();
        if i == running {
            assert_eq!(
                (status, &body["status"]),
                (200, &Value::from("completed")),
                "{body}"
            );
        } else if status == 503 {
            assert_eq!(body["error"]["code"], "shutting_down", "{body}");
            assert!(retry_after);
            kept.push(format!("r-{i}"));
        } else {
            // It may have started before the drain began; then it finished.
            assert_eq!(
                (status, &body["status"]),
                (200, &Value::from("completed")),
                "{body}"
            );
        }
    }
    assert!(!kept.is_empty(), "the queued tasks were answered 503");
    let exit = tokio::task::spawn_blocking(move || {
        let status = first._proc.0.wait().unwrap();
        (status, first)
    });
    let (status, first) = tokio::time::timeout(Duration::from_secs(20), exit)
        .await
        .expect("the server exits after draining")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");

    // The same worker process, drained, reconnects to the replacement on the same port.
    let second = serve_at(
        &format!("127.0.0.1:{}", first.port),
        &["--data-dir", &data_arg],
        &[],
    );
    second.wait_workers(1).await;
    for id in &kept {
        let view = second.wait_final(id).await;
        assert_eq!(view["status"], "completed", "{view}");
    }
    let (status, _) = second.get("/tasks/late").await;
    assert_eq!(status, 404, "a refused task was never accepted");
}
