//! The worker WebSocket: upgrade refusals, and frames that break the protocol close only
//! their own connection.

use futures_util::SinkExt;
use serde_json::json;
use smart_routing::protocol::{FailureKind, FromWorker, TaskReport, WorkerCommand};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{serve, task, RawWorker};

#[tokio::test]
async fn upgrade_without_worker_id_is_400_and_duplicate_id_is_409() {
    let server = serve(&[], &[]);
    let response = server
        .http
        .get(format!("{}/worker-listen", server.url))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_request");

    let mut first = RawWorker::connect(&server, "same").await.unwrap();
    first.register("same", &["sample_task_1"], &[]).await;
    server.wait_workers(1).await;
    let second = RawWorker::connect(&server, "same").await;
    let error = second
        .err()
        .expect("a second connection with the same id must be refused");
    assert!(error.to_string().contains("409"), "{error}");
    assert_eq!(server.workers().await, ["same"]);
}

#[tokio::test]
async fn a_broken_frame_closes_only_that_connection() {
    let server = serve(&[], &[]);
    let _good = server.sim_worker("good", 2, 0.02);
    server.wait_workers(1).await;
    let mut bad = RawWorker::connect(&server, "bad").await.unwrap();
    bad.register("bad", &["sample_task_1"], &[]).await;
    server.wait_workers(2).await;
    bad.ws
        .send(Message::Binary(vec![0xff, 0x01, 0x02, 0x03].into()))
        .await
        .unwrap();
    let reason = bad.next_command().await.unwrap_err();
    assert!(reason.contains("protobuf"), "close reason: {reason}");
    server.wait_workers(1).await;
    assert_eq!(server.workers().await, ["good"]);
    let (status, view) = server
        .post("/run-task", &task("after", "sample_task_1", "label-1"))
        .await;
    assert_eq!((status, view["worker"].as_str()), (200, Some("good")));
}

#[tokio::test]
async fn frames_that_break_the_rules_are_refused_with_a_reason() {
    let server = serve(&[], &[]);
    // A register whose id contradicts the header.
    let mut liar = RawWorker::connect(&server, "header-id").await.unwrap();
    liar.register("other-id", &["sample_task_1"], &[]).await;
    assert!(liar
        .next_command()
        .await
        .unwrap_err()
        .contains("does not match"));
    // A text frame.
    let mut texter = RawWorker::connect(&server, "texter").await.unwrap();
    texter.ws.send(Message::Text("hello".into())).await.unwrap();
    assert!(texter
        .next_command()
        .await
        .unwrap_err()
        .contains("text frames"));
    // Anything before Register.
    let mut eager = RawWorker::connect(&server, "eager").await.unwrap();
    eager
        .send(&FromWorker::LabelLoaded { label: "x".into() })
        .await;
    assert!(eager.next_command().await.unwrap_err().contains("Register"));
    // A result for a task it was never given.
    let mut forger = RawWorker::connect(&server, "forger").await.unwrap();
    forger.register("forger", &["sample_task_1"], &[]).await;
    server.wait_workers(1).await;
    forger
        .send(&FromWorker::TaskResult(TaskReport {
            task_id: "never-given".into(),
            outcome: Ok("{}".into()),
            label_miss: false,
            load_ms: 0,
            run_ms: 1,
            failure: FailureKind::Failed,
        }))
        .await;
    assert!(forger
        .next_command()
        .await
        .unwrap_err()
        .contains("unknown task"));
    server.wait_workers(0).await;
    assert_eq!(server.get("/health").await.0, 200);
}

#[tokio::test]
async fn a_raw_worker_runs_tasks_over_the_documented_protocol() {
    let server = serve(&[], &[]);
    let mut worker = RawWorker::connect(&server, "raw").await.unwrap();
    worker.register("raw", &["echo"], &["label-x"]).await;
    server.wait_workers(1).await;
    assert_eq!(server.get("/labels").await.1, json!({"label-x": ["raw"]}));
    let client = {
        let http = server.http.clone();
        let url = format!("{}/run-task", server.url);
        let body = json!({"task_id": "e-1", "task_type": "echo", "label": "label-x", "parameters_json": "{\"v\": 3}"});
        tokio::spawn(async move {
            let response = http.post(url).json(&body).send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        })
    };
    let WorkerCommand::Run(run) = worker.next_command().await.unwrap() else {
        panic!("expected a RunTask");
    };
    assert_eq!(
        (
            run.task_id.as_str(),
            run.label.as_str(),
            run.parameters_json.as_str()
        ),
        ("e-1", "label-x", "{\"v\": 3}")
    );
    worker
        .send(&FromWorker::TaskResult(TaskReport {
            task_id: run.task_id,
            outcome: Ok("{\"echo\": 3}".into()),
            label_miss: false,
            load_ms: 0,
            run_ms: 7,
            failure: FailureKind::Failed,
        }))
        .await;
    let (status, view) = client.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(view["result"], json!({"echo": 3}));
    assert_eq!(view["timings"]["run_ms"], 7);
}

#[tokio::test]
async fn a_silent_worker_is_dropped() {
    let server = serve(&[], &[("SMART_ROUTING_HEARTBEAT_TIMEOUT_S", "1")]);
    let mut worker = RawWorker::connect(&server, "quiet").await.unwrap();
    worker.register("quiet", &["sample_task_1"], &[]).await;
    server.wait_workers(1).await;
    // Send nothing more and read nothing (so pings go unanswered).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(server.workers().await.is_empty());
    drop(worker);
}
