//! Time and size bounds, driven by hand-written workers: deadlines on running tasks,
//! run-time limits, admission control, the grace for departed workers, forgotten task
//! types and labels, label catalogs, deadline bounds and the registration timeout.

use std::time::Duration;

use serde_json::{json, Value};
use smart_routing::protocol::{FailureKind, FromWorker, Registration, TaskReport, WorkerCommand};

use crate::common::{serve, task, RawWorker, Server};

fn registration(id: &str, task_types: &[&str], catalog: Option<&[&str]>) -> Registration {
    Registration {
        worker_id: id.to_owned(),
        max_labels: 2,
        slots: 1,
        task_types: task_types.iter().map(|t| (*t).to_owned()).collect(),
        labels: Vec::new(),
        catalog: catalog.map(|c| c.iter().map(|l| (*l).to_owned()).collect()),
    }
}

fn report(task_id: &str, outcome: Result<&str, &str>, failure: FailureKind) -> FromWorker {
    FromWorker::TaskResult(TaskReport {
        task_id: task_id.to_owned(),
        outcome: outcome.map(str::to_owned).map_err(str::to_owned),
        label_miss: false,
        load_ms: 0,
        run_ms: 1,
        failure,
    })
}

/// `/run-task` in the background; its (status, body) when it answers.
fn run_in_background(server: &Server, body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
    let http = server.http.clone();
    let url = format!("{}/run-task", server.url);
    tokio::spawn(async move {
        let response = http.post(url).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The task id of the next `RunTask`, skipping other commands.
async fn next_run(worker: &mut RawWorker) -> String {
    loop {
        match worker.next_command().await.unwrap() {
            WorkerCommand::Run(run) => return run.task_id,
            _ => continue,
        }
    }
}

async fn next_cancel(worker: &mut RawWorker) -> String {
    loop {
        match worker.next_command().await.unwrap() {
            WorkerCommand::Cancel { task_id } => return task_id,
            _ => continue,
        }
    }
}

async fn dropped_results(server: &Server) -> u64 {
    server
        .metric("smart_routing_results_dropped_total")
        .await
        .expect("the dropped-results counter is exported")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_running_task_past_its_deadline_is_504_and_its_late_result_is_dropped() {
    let server = serve(&[], &[]);
    let mut worker = RawWorker::connect(&server, "slow").await.unwrap();
    worker.register("slow", &["echo"], &["l"]).await;
    server.wait_workers(1).await;
    let mut body = task("late", "echo", "l");
    body["deadline_ms"] = json!(300);
    let client = run_in_background(&server, body);
    assert_eq!(next_run(&mut worker).await, "late");
    // The worker ignores the deadline; the dispatcher stops the task there.
    assert_eq!(next_cancel(&mut worker).await, "late");
    let (status, view) = client.await.unwrap();
    assert_eq!(
        (status, view["error"]["code"].as_str()),
        (504, Some("deadline_exceeded")),
        "{view}"
    );
    // Its result comes after all: dropped and counted, the worker stays.
    worker
        .send(&report("late", Ok("{}"), FailureKind::Failed))
        .await;
    let next = run_in_background(&server, task("next", "echo", "l"));
    assert_eq!(
        next_run(&mut worker).await,
        "next",
        "the slot is free again"
    );
    worker
        .send(&report("next", Ok("{}"), FailureKind::Failed))
        .await;
    assert_eq!(next.await.unwrap().0, 200);
    assert_eq!(dropped_results(&server).await, 1);
    assert_eq!(server.workers().await, ["slow"]);
    assert_eq!(server.get("/tasks/late").await.1["status"], "failed");
}

#[tokio::test]
async fn a_worker_that_gives_up_at_the_deadline_yields_504() {
    let server = serve(&[], &[]);
    let mut worker = RawWorker::connect(&server, "w").await.unwrap();
    worker.register("w", &["echo"], &[]).await;
    server.wait_workers(1).await;
    let mut body = task("t", "echo", "l");
    body["deadline_ms"] = json!(60_000);
    let client = run_in_background(&server, body);
    assert_eq!(next_run(&mut worker).await, "t");
    worker
        .send(&report(
            "t",
            Err("deadline exceeded while running"),
            FailureKind::DeadlineExceeded,
        ))
        .await;
    let (status, view) = client.await.unwrap();
    assert_eq!(
        (status, view["error"]["code"].as_str()),
        (504, Some("deadline_exceeded"))
    );
}

#[tokio::test]
async fn a_task_with_no_result_past_max_run_s_is_retried_then_given_up() {
    let server = serve(
        &[],
        &[
            ("SMART_ROUTING_MAX_RUN_S", "0.3"),
            ("SMART_ROUTING_MAX_ATTEMPTS", "2"),
        ],
    );
    let mut worker = RawWorker::connect(&server, "mute").await.unwrap();
    // Holding the label, so each attempt can start at once.
    worker.register("mute", &["echo"], &["l"]).await;
    server.wait_workers(1).await;
    assert_eq!(
        server
            .post("/send-task", &task("stuck", "echo", "l"))
            .await
            .0,
        202
    );
    for _attempt in 0..2 {
        assert_eq!(next_run(&mut worker).await, "stuck");
        assert_eq!(next_cancel(&mut worker).await, "stuck");
        // Answering the cancel frees the slot for the next attempt.
        worker
            .send(&report("stuck", Err("cancelled"), FailureKind::Cancelled))
            .await;
    }
    let view = server.wait_final("stuck").await;
    assert_eq!(
        (view["status"].as_str(), view["error"]["code"].as_str()),
        (Some("failed"), Some("worker_lost")),
        "{view}"
    );
    assert_eq!(view["attempts"], 2);
    assert_eq!(server.workers().await, ["mute"]);
}

#[tokio::test]
async fn a_deadline_the_estimate_cannot_meet_is_refused_at_once() {
    let server = serve(&[], &[]);
    let mut worker = RawWorker::connect(&server, "w").await.unwrap();
    worker.register("w", &["echo"], &["l"]).await;
    server.wait_workers(1).await;
    // One measured run of 5 s.
    let first = run_in_background(&server, task("first", "echo", "l"));
    assert_eq!(next_run(&mut worker).await, "first");
    worker
        .send(&FromWorker::TaskResult(TaskReport {
            run_ms: 5000,
            ..match report("first", Ok("{}"), FailureKind::Failed) {
                FromWorker::TaskResult(r) => r,
                _ => unreachable!(),
            }
        }))
        .await;
    assert_eq!(first.await.unwrap().0, 200);
    let mut hurried = task("hurried", "echo", "l");
    hurried["deadline_ms"] = json!(1000);
    let (status, body) = server.post("/send-task", &hurried).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("deadline_unmeetable")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("5000 ms"), "{message}");
    assert_eq!(server.get("/tasks/hurried").await.0, 404, "nothing kept");
    hurried["deadline_ms"] = json!(60_000);
    assert_eq!(server.post("/send-task", &hurried).await.0, 202);
}

#[tokio::test]
async fn tasks_wait_for_their_only_worker_to_come_back() {
    let server = serve(&[], &[("SMART_ROUTING_WORKER_GRACE_S", "60")]);
    let mut worker = RawWorker::connect(&server, "flaky").await.unwrap();
    worker.register("flaky", &["echo"], &[]).await;
    server.wait_workers(1).await;
    let running = run_in_background(&server, task("running", "echo", "l"));
    assert_eq!(next_run(&mut worker).await, "running");
    drop(worker); // it restarts
    server.wait_workers(0).await;
    // Submitted while it is away: waits too.
    assert_eq!(
        server
            .post("/send-task", &task("queued", "echo", "l"))
            .await
            .0,
        202
    );
    let mut worker = RawWorker::connect(&server, "flaky").await.unwrap();
    worker.register("flaky", &["echo"], &[]).await;
    for _ in 0..2 {
        let id = next_run(&mut worker).await;
        worker
            .send(&report(&id, Ok("{}"), FailureKind::Failed))
            .await;
    }
    assert_eq!(running.await.unwrap().0, 200);
    assert_eq!(server.wait_final("queued").await["status"], "completed");
}

#[tokio::test]
async fn task_types_of_departed_workers_are_forgotten() {
    let server = serve(&[], &[("SMART_ROUTING_WORKER_GRACE_S", "0.2")]);
    let made_up: Vec<String> = (0..64).map(|i| format!("made-up-{i}")).collect();
    let names: Vec<&str> = made_up.iter().map(String::as_str).collect();
    let mut greedy = RawWorker::connect(&server, "greedy").await.unwrap();
    greedy.register("greedy", &names, &[]).await;
    server.wait_workers(1).await;
    drop(greedy);
    server.wait_workers(0).await;
    // Once the grace period is over, a worker with another task type gets in.
    let mut joined = false;
    for i in 0..50 {
        let id = format!("fresh-{i}");
        let mut fresh = RawWorker::connect(&server, &id).await.unwrap();
        fresh.register(&id, &["sample_task_1"], &[]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if server.workers().await == [id.clone()] {
            joined = true;
            break;
        }
        let reason = fresh.next_command().await.unwrap_err();
        assert!(reason.contains("too many distinct task types"), "{reason}");
    }
    assert!(
        joined,
        "the departed worker's task types were never forgotten"
    );
    // One worker alone may not announce more than the dispatcher can tell apart.
    let mut many = RawWorker::connect(&server, "many").await.unwrap();
    let too_many: Vec<String> = (0..65).map(|i| format!("t{i}")).collect();
    let names: Vec<&str> = too_many.iter().map(String::as_str).collect();
    many.register("many", &names, &[]).await;
    let reason = many.next_command().await.unwrap_err();
    assert!(reason.contains("at most 64 per worker"), "{reason}");
}

#[tokio::test]
async fn a_label_no_worker_can_load_is_404_at_submission() {
    let server = serve(&[], &[("SMART_ROUTING_WORKER_GRACE_S", "0")]);
    let mut onnx = RawWorker::connect(&server, "onnx").await.unwrap();
    onnx.register_as(registration("onnx", &["echo"], Some(&["m1"])))
        .await;
    server.wait_workers(1).await;
    let (status, body) = server.post("/send-task", &task("a", "echo", "m2")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_label")),
        "{body}"
    );
    assert_eq!(server.get("/tasks/a").await.0, 404, "nothing kept");
    assert_eq!(
        server.post("/send-task", &task("b", "echo", "m1")).await.0,
        202
    );
    // A worker of another task type that loads anything changes nothing for "echo".
    let mut other = RawWorker::connect(&server, "other").await.unwrap();
    other
        .register_as(registration("other", &["sim"], None))
        .await;
    server.wait_workers(2).await;
    let (status, body) = server.post("/send-task", &task("a2", "echo", "m2")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_label"))
    );
    // A worker of the task type that can load any label (no catalog) makes m2 acceptable.
    let mut any = RawWorker::connect(&server, "any").await.unwrap();
    any.register_as(registration("any", &["echo"], None)).await;
    server.wait_workers(3).await;
    assert_eq!(
        server.post("/send-task", &task("c", "echo", "m2")).await.0,
        202
    );
}

#[tokio::test]
async fn a_deadline_beyond_the_maximum_is_422() {
    let server = serve(&[], &[]);
    let _w = server.sim_worker("w", 2, 0.01);
    server.wait_workers(1).await;
    let mut body = task("huge", "sample_task_1", "l");
    body["deadline_ms"] = json!(u64::MAX);
    let (status, error) = server.post("/run-task", &body).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (422, Some("invalid_field")),
        "{error}"
    );
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("deadline_ms"));
    // The largest allowed deadline is no deadline trouble.
    body["deadline_ms"] = json!(86_400_000u64);
    let (status, view) = server.post("/run-task", &body).await;
    assert_eq!((status, view["status"].as_str()), (200, Some("completed")));
}

#[tokio::test]
async fn a_connection_that_never_registers_is_closed() {
    let server = serve(&[], &[("SMART_ROUTING_REGISTER_TIMEOUT_S", "1")]);
    let mut idle = RawWorker::connect(&server, "idle").await.unwrap();
    idle.send(&FromWorker::Heartbeat).await;
    let reason = idle.next_command().await.unwrap_err();
    assert!(reason.contains("no Register"), "{reason}");
}

#[tokio::test]
async fn labels_nobody_uses_are_forgotten() {
    let server = serve(&[], &[("SMART_ROUTING_LABEL_IDLE_S", "1")]);
    let _w = server.sim_worker("w", 1, 0.01);
    server.wait_workers(1).await;
    for (id, label) in [("t1", "old"), ("t2", "new")] {
        let (status, _) = server
            .post("/run-task", &task(id, "sample_task_1", label))
            .await;
        assert_eq!(status, 200);
    }
    let (_, stats) = server.get("/labels/stats").await;
    assert!(stats.get("old").is_some(), "{stats}");
    // "old" was evicted for "new" (K = 1): its statistics go after a second idle.
    let mut forgotten = false;
    for _ in 0..100 {
        let (_, stats) = server.get("/labels/stats").await;
        if stats.get("old").is_none() {
            assert!(stats.get("new").is_some(), "a held label is kept: {stats}");
            forgotten = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(forgotten, "the idle label's statistics were never dropped");
}
