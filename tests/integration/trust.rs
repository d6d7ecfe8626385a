//! Worker identities, tenants and secrets against the real binary: a worker refused for
//! another's id, tenant limits that hold under concurrency and leave other tenants be,
//! priority overtaking a backlog, and no token in any log, event or metric.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use smart_routing::protocol::{FromWorker, TaskReport, WorkerCommand};
use tokio_tungstenite::tungstenite;

use crate::common::{serve, serve_logging_to, task, Proc, RawWorker, Server, BIN};

const W1: &str = "w1-token-9f2c41";
const W2: &str = "w2-token-77ab03";
const SHARED: &str = "shared-worker-token-5e1d";
const CLIENT: &str = "anonymous-client-token-c3a9";
const LIVE: &str = "tenant-live-token-0b6e";
const BATCH: &str = "tenant-batch-token-d481";
const TOKENS: [&str; 6] = [W1, W2, SHARED, CLIENT, LIVE, BATCH];

fn config(name: &str, toml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sr-trust-it-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn trust_config(name: &str, live_limit: usize, batch_limit: usize) -> PathBuf {
    config(
        name,
        &format!(
            "worker_token = \"{SHARED}\"\nclient_token = \"{CLIENT}\"\n\
             [worker_tokens]\nw1 = \"{W1}\"\nw2 = \"{W2}\"\n\
             [tenants.live]\ntoken = \"{LIVE}\"\npriority = 10\nmax_in_flight = {live_limit}\n\
             [tenants.batch]\ntoken = \"{BATCH}\"\nmax_in_flight = {batch_limit}\n"
        ),
    )
}

/// The HTTP status a worker connection as `id` with `token` gets, and its body.
async fn worker_refusal(server: &Server, id: &str, token: Option<&str>) -> Option<(u16, String)> {
    match RawWorker::connect_with_token(server, id, token).await {
        Ok(_) => None,
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            Some((
                response.status().as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ))
        }
        Err(other) => panic!("unexpected connection error: {other}"),
    }
}

async fn post_as(
    server: &Server,
    token: &str,
    path: &str,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let response = server
        .http
        .post(format!("{}{path}", server.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        retry_after,
    )
}

async fn get_as(server: &Server, token: &str, path: &str) -> (u16, Value) {
    server.get_as(Some(token), path).await
}

/// The token that reads a task of this test file: by its id's prefix.
fn reader_of(task_id: &str) -> &'static str {
    if task_id.starts_with("live") {
        LIVE
    } else if task_id.starts_with("batch") {
        BATCH
    } else {
        CLIENT
    }
}

/// A worker that holds every task it is given without answering, as `id` with `token`.
async fn holding_worker(server: &Server, id: &str, token: &str) -> RawWorker {
    let mut worker = RawWorker::connect_with_token(server, id, Some(token))
        .await
        .unwrap();
    worker.register(id, &["sample_task_1"], &["a"]).await;
    worker
}

async fn answer(worker: &mut RawWorker, task_id: &str) {
    worker
        .send(&FromWorker::TaskResult(TaskReport {
            task_id: task_id.to_owned(),
            outcome: Ok("{}".to_owned()),
            label_miss: false,
            load_ms: 0,
            run_ms: 1,
            failure: Default::default(),
        }))
        .await;
}

async fn next_run(worker: &mut RawWorker) -> String {
    loop {
        match worker.next_command().await.unwrap() {
            WorkerCommand::Run(run) => return run.task_id,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn a_worker_is_accepted_for_its_own_id_only() {
    let path = trust_config("ids", 8, 8);
    let server = serve(&["--config", path.to_str().unwrap()], &[]);
    // Another id's token: refused before any Register, and said why.
    let (status, body) = worker_refusal(&server, "w1", Some(W2)).await.unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("forbidden") && body.contains("not for the Worker-Id"),
        "{body}"
    );
    assert!(!body.contains(W2), "the token echoed back: {body}");
    // An id with its own token is not open to the shared one; an id without one is.
    assert_eq!(
        worker_refusal(&server, "w1", Some(SHARED)).await.unwrap().0,
        403
    );
    assert_eq!(
        worker_refusal(&server, "w9", Some(W1)).await.unwrap().0,
        403
    );
    assert_eq!(
        worker_refusal(&server, "w1", Some("guess"))
            .await
            .unwrap()
            .0,
        401
    );
    assert_eq!(worker_refusal(&server, "w1", None).await.unwrap().0, 401);
    assert!(worker_refusal(&server, "w9", Some(SHARED)).await.is_none());
    // The real worker with its own token runs a task.
    let _worker = Proc(
        std::process::Command::new(BIN)
            .args([
                "worker",
                "--dispatcher",
                &server.ws_url(),
                "--worker-id",
                "w2",
                "--simulate",
            ])
            .args(["--time-scale", "0"])
            .env("SMART_ROUTING_WORKER_TOKEN", W2)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    server.wait_workers(1).await;
    let (status, view, _) = post_as(
        &server,
        CLIENT,
        "/run-task",
        &task("t-w2", "sample_task_1", "a"),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["tenant"], "anonymous");
}

#[tokio::test]
async fn tenant_limits_hold_under_concurrency_and_leave_other_tenants_be() {
    let path = trust_config("limits", 7, 5);
    let server = serve(&["--config", path.to_str().unwrap()], &[]);
    let mut worker = holding_worker(&server, "w1", W1).await;
    server.wait_workers(1).await;
    // 64 concurrent clients per tenant, both tenants at once.
    let submit = |token: &'static str, tenant: &str, i: usize| {
        let body = task(&format!("{tenant}-{i}"), "sample_task_1", "a");
        let server = &server;
        async move {
            (
                tenant_of(token),
                post_as(server, token, "/send-task", &body).await,
            )
        }
    };
    let calls = (0..64).flat_map(|i| [submit(LIVE, "live", i), submit(BATCH, "batch", i)]);
    let answers = join_all(calls).await;
    for (tenant, limit) in [("live", 7), ("batch", 5)] {
        let mine: Vec<_> = answers.iter().filter(|(t, _)| *t == tenant).collect();
        let accepted = mine
            .iter()
            .filter(|(_, (status, _, _))| *status == 202)
            .count();
        assert_eq!(accepted, limit, "{tenant}");
        for (_, (status, body, retry_after)) in mine.iter().filter(|(_, (s, _, _))| *s != 202) {
            assert_eq!(*status, 429, "{body}");
            assert_eq!(body["error"]["code"], "tenant_limit", "{body}");
            assert!(retry_after.is_some(), "429 without Retry-After");
        }
    }
    // The anonymous tenant has no limit: unaffected.
    for i in 0..10 {
        let (status, body, _) = post_as(
            &server,
            CLIENT,
            "/send-task",
            &task(&format!("anon-{i}"), "sample_task_1", "a"),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    // A tenant reads its own tasks only.
    let accepted_live = answers
        .iter()
        .find(|(t, (s, _, _))| *t == "live" && *s == 202)
        .map(|(_, (_, body, _))| body["task_id"].as_str().unwrap().to_owned())
        .unwrap();
    let (status, view) = get_as(&server, LIVE, &format!("/tasks/{accepted_live}")).await;
    assert_eq!((status, view["tenant"].as_str()), (200, Some("live")));
    assert_eq!(
        get_as(&server, BATCH, &format!("/tasks/{accepted_live}"))
            .await
            .0,
        404
    );
    // One live task ends: one more fits, and no more.
    let running = next_run(&mut worker).await;
    answer(&mut worker, &running).await;
    let ended = server
        .wait_final_as(Some(reader_of(&running)), &running)
        .await;
    assert_eq!(ended["status"], "completed", "{ended}");
    let owner = reader_of(&running);
    if owner != CLIENT {
        let again = post_as(
            &server,
            owner,
            "/send-task",
            &task("again-1", "sample_task_1", "a"),
        )
        .await;
        assert_eq!(again.0, 202, "{:?}", again.1);
        let full = post_as(
            &server,
            owner,
            "/send-task",
            &task("again-2", "sample_task_1", "a"),
        )
        .await;
        assert_eq!(full.0, 429, "{:?}", full.1);
    }
    // Every refusal counted, the one after the task ended included.
    let metrics = server.metrics().await;
    for (tenant, token, refused) in [("live", LIVE, 57), ("batch", BATCH, 59)] {
        let refused = refused + usize::from(owner == token);
        let series =
            format!("smart_routing_tenant_limited_total{{tenant=\"{tenant}\"}} {refused}\n");
        assert!(metrics.contains(&series), "{series} not in {metrics}");
    }
}

fn tenant_of(token: &str) -> &'static str {
    match token {
        LIVE => "live",
        BATCH => "batch",
        _ => "anonymous",
    }
}

#[tokio::test]
async fn a_high_priority_task_overtakes_a_queued_backlog() {
    let path = trust_config("priority", 10, 2000);
    let server = serve(&["--config", path.to_str().unwrap()], &[]);
    let mut worker = holding_worker(&server, "w1", W1).await;
    server.wait_workers(1).await;
    for i in 0..1000 {
        let (status, body, _) = post_as(
            &server,
            BATCH,
            "/send-task",
            &task(&format!("batch-{i}"), "sample_task_1", "a"),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body, _) = post_as(
        &server,
        LIVE,
        "/send-task",
        &task("live-1", "sample_task_1", "a"),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    // batch-0 took the one slot at once; the next the worker is given is the live task.
    let first = next_run(&mut worker).await;
    assert_eq!(first, "batch-0");
    answer(&mut worker, &first).await;
    assert_eq!(next_run(&mut worker).await, "live-1");
    answer(&mut worker, "live-1").await;
    assert_eq!(next_run(&mut worker).await, "batch-1");
}

#[tokio::test]
async fn no_token_appears_in_any_log_event_or_metric() {
    let path = trust_config("secrets", 4, 4);
    let log = std::env::temp_dir().join(format!("sr-trust-it-{}-stderr.log", std::process::id()));
    let stderr = std::fs::File::create(&log).unwrap();
    let server = serve_logging_to(
        &["--config", path.to_str().unwrap()],
        &[("RUST_LOG", "debug")],
        stderr,
    );
    let mut answers = Vec::new();
    // Wrong ids, wrong tokens, right ones; tasks that complete and that are refused.
    for (id, token) in [
        ("w1", Some(W2)),
        ("w1", Some(SHARED)),
        ("w3", Some("wrong")),
        ("w4", None),
    ] {
        answers.push(format!("{:?}", worker_refusal(&server, id, token).await));
    }
    let mut worker = holding_worker(&server, "w1", W1).await;
    server.wait_workers(1).await;
    for (i, token) in [LIVE, BATCH, CLIENT, "not-a-token"].into_iter().enumerate() {
        let answer = post_as(
            &server,
            token,
            "/send-task",
            &task(&format!("s-{i}"), "sample_task_1", "a"),
        )
        .await;
        answers.push(format!("{answer:?}"));
    }
    let run = next_run(&mut worker).await;
    answer(&mut worker, &run).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = server.metrics().await;
    let events = std::fs::read_to_string(server.log_dir.join("events.jsonl")).unwrap();
    drop(worker);
    drop(server);
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("DEBUG") || stderr.contains("debug"),
        "the log is empty: {stderr}"
    );
    assert!(events.contains("\"tenant\":\"live\""), "{events}");
    for (what, text) in [
        ("stderr", &stderr),
        ("events", &events),
        ("metrics", &metrics),
        ("answers", &answers.join("\n")),
    ] {
        for token in TOKENS {
            assert!(!text.contains(token), "{token} appears in {what}");
        }
    }
}
