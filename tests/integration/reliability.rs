//! Losing workers: tasks in flight move to another worker, the client gets one result.

use std::time::Duration;

use crate::common::{serve, task};

#[tokio::test]
async fn a_worker_killed_mid_task_has_its_task_finished_elsewhere() {
    let server = serve(&[], &[]);
    let mut w1 = server.sim_worker("w-1", 2, 0.5);
    let mut w2 = server.sim_worker("w-2", 2, 0.5);
    server.wait_workers(2).await;
    // sample_task_2 runs >= 0.25 s at this scale, plus a load of >= 0.1 s.
    let client = {
        let http = server.http.clone();
        let url = format!("{}/run-task", server.url);
        let body = task("victim", "sample_task_2", "label-1");
        tokio::spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        })
    };
    let mut running_on = None;
    for _ in 0..100 {
        let (_, view) = server.get("/tasks/victim").await;
        if view["status"] == "running" {
            running_on = view["worker"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let running_on = running_on.expect("the task never started");
    let (killed, survivor) = if running_on == "w-1" {
        (&mut w1, "w-2")
    } else {
        (&mut w2, "w-1")
    };
    killed.0.kill().unwrap();
    let (status, view) = client.await.unwrap();
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "completed");
    assert_eq!(view["worker"], survivor);
    assert_eq!(view["attempts"], 2);
    server.wait_workers(1).await;
    // Exactly one result: the finished view stays as it is.
    assert_eq!(server.get("/tasks/victim").await.1, view);
}

#[tokio::test]
async fn a_task_fails_clearly_when_its_workers_keep_dying() {
    let server = serve(&[], &[("SMART_ROUTING_MAX_ATTEMPTS", "1")]);
    let mut w1 = server.sim_worker("w-1", 2, 0.5);
    server.wait_workers(1).await;
    assert_eq!(
        server
            .post("/send-task", &task("doomed", "sample_task_2", "label-1"))
            .await
            .0,
        202
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    w1.0.kill().unwrap();
    let view = server.wait_final("doomed").await;
    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], "worker_lost");
}

#[tokio::test]
async fn a_worker_started_before_the_server_connects_once_it_is_up() {
    let port = crate::common::free_port();
    let url = format!("ws://127.0.0.1:{port}/worker-listen");
    let _worker = crate::common::Proc(
        std::process::Command::new(crate::common::BIN)
            .args([
                "worker",
                "--dispatcher",
                &url,
                "--worker-id",
                "early",
                "--simulate",
            ])
            .args(["--time-scale", "0.01", "--task-types", "sample_task_1"])
            .env("RUST_LOG", "error")
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let bind = format!("127.0.0.1:{port}");
    let server = crate::common::serve_at(&bind, &[], &[]);
    server.wait_workers(1).await;
    assert_eq!(
        server
            .post("/run-task", &task("one", "sample_task_1", "l"))
            .await
            .0,
        200
    );
    // It announced only the task types it was given.
    let (status, error) = server
        .post("/run-task", &task("two", "sample_task_2", "l"))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (503, Some("no_capable_worker"))
    );
}
