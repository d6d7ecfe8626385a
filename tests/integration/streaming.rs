//! Streaming tasks against the real binary: Server-Sent Events from `/run-task` in order
//! and as the worker makes them, the stored result, a hang-up that cancels, a worker lost
//! before and after the first chunk, and a client too slow to read.

use std::time::Duration;

use serde_json::{json, Value};
use smart_routing::clock::unix_ms;
use smart_routing::protocol::{Chunk, FromWorker, TaskReport, WorkerCommand};

use crate::common::{serve, Proc, RawWorker, Server, BIN};

fn stream_task(task_id: &str, params: Value) -> Value {
    json!({ "task_id": task_id, "task_type": "sample_stream", "label": "s", "parameters_json": params.to_string() })
}

/// An open SSE response, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(server: &Server, body: &Value) -> Events {
        let response = server
            .http
            .post(format!("{}/run-task", server.url))
            .header("accept", "text/event-stream")
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's name and data, with when it arrived; `None` at the end.
    async fn next(&mut self) -> Option<(String, Value, u64)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let name = event
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))?
                    .to_owned();
                let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
                return Some((name, serde_json::from_str(data).unwrap(), unix_ms()));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("an event within 20 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

fn stream_worker(server: &Server, id: &str) -> Proc {
    let child = std::process::Command::new(BIN)
        .args([
            "worker",
            "--dispatcher",
            &server.ws_url(),
            "--worker-id",
            id,
            "--simulate",
        ])
        .args(["--task-types", "sample_stream", "--time-scale", "1"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

#[tokio::test]
async fn chunks_arrive_in_order_as_the_worker_makes_them_then_the_stored_result() {
    let server = serve(&[], &[]);
    let _worker = stream_worker(&server, "s-1");
    server.wait_workers(1).await;
    let body = stream_task("st-1", json!({ "chunks": 5, "interval_ms": 200 }));
    let mut events = Events::open(&server, &body).await;
    let mut chunks = Vec::new();
    let result = loop {
        let (name, data, arrived) = events.next().await.expect("a result event");
        match name.as_str() {
            "chunk" => chunks.push((data, arrived)),
            "result" => break data,
            other => panic!("unexpected event {other}"),
        }
    };
    assert!(events.next().await.is_none(), "nothing after the result");
    let seqs: Vec<u64> = chunks
        .iter()
        .map(|(c, _)| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    // The first chunk reached the client before the worker made the last one: streamed,
    // not collected at the end (the worker stamps each chunk as it makes it).
    let last_made = chunks[4].0["unix_ms"].as_u64().unwrap();
    assert!(
        chunks[0].1 < last_made,
        "first arrived {} ms, last made {last_made} ms",
        chunks[0].1
    );
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["result"]["chunks"], 5, "{result}");
    let (status, stored) = server.get("/tasks/st-1").await;
    assert_eq!((status, &stored["result"]), (200, &result["result"]));
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("smart_routing_task_chunks_total{label=\"s\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains("smart_routing_task_first_chunk_seconds_count{label=\"s\"} 1"));
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_stream_cancels_its_task() {
    let server = serve(&[], &[]);
    let _worker = stream_worker(&server, "s-1");
    server.wait_workers(1).await;
    let body = stream_task("st-2", json!({ "chunks": 1000, "interval_ms": 50 }));
    let mut events = Events::open(&server, &body).await;
    assert_eq!(events.next().await.unwrap().0, "chunk");
    drop(events);
    let view = server.wait_final("st-2").await;
    assert_eq!(view["status"], "cancelled", "{view}");
}

async fn raw_stream_worker(server: &Server, id: &str) -> RawWorker {
    let mut worker = RawWorker::connect(server, id).await.unwrap();
    worker.register(id, &["sample_stream"], &["s"]).await;
    worker
}

async fn next_run(worker: &mut RawWorker) -> String {
    loop {
        if let WorkerCommand::Run(run) = worker.next_command().await.unwrap() {
            return run.task_id;
        }
    }
}

async fn chunk(worker: &mut RawWorker, task_id: &str, seq: u64, chunk_json: String) {
    let chunk = Chunk {
        task_id: task_id.to_owned(),
        seq,
        chunk_json,
    };
    worker.send(&FromWorker::TaskChunk(chunk)).await;
}

async fn result(worker: &mut RawWorker, task_id: &str) {
    let report = TaskReport {
        task_id: task_id.to_owned(),
        outcome: Ok("{\"done\":true}".to_owned()),
        label_miss: false,
        load_ms: 0,
        run_ms: 1,
        failure: Default::default(),
    };
    worker.send(&FromWorker::TaskResult(report)).await;
}

#[tokio::test]
async fn a_worker_lost_before_the_first_chunk_is_retried_and_after_it_ends_the_stream() {
    let server = serve(&[], &[]);
    let mut first = raw_stream_worker(&server, "r-1").await;
    server.wait_workers(1).await;
    // Lost before any chunk: the task runs again on the next worker, and completes.
    let mut events = Events::open(&server, &stream_task("lost-early", json!({}))).await;
    assert_eq!(next_run(&mut first).await, "lost-early");
    drop(first);
    let mut second = raw_stream_worker(&server, "r-2").await;
    assert_eq!(next_run(&mut second).await, "lost-early");
    chunk(&mut second, "lost-early", 0, "{\"n\":0}".into()).await;
    result(&mut second, "lost-early").await;
    assert_eq!(events.next().await.unwrap().1, json!({"n": 0}));
    let (name, view, _) = events.next().await.unwrap();
    assert_eq!(
        (name.as_str(), &view["status"]),
        ("result", &json!("completed"))
    );
    assert_eq!(view["attempts"], 2, "{view}");
    // Lost after a chunk reached the client: what was sent stays sent; it ends worker_lost.
    let mut events = Events::open(&server, &stream_task("lost-late", json!({}))).await;
    assert_eq!(next_run(&mut second).await, "lost-late");
    chunk(&mut second, "lost-late", 0, "{\"n\":0}".into()).await;
    assert_eq!(events.next().await.unwrap().0, "chunk");
    drop(second);
    let (name, view, _) = events.next().await.unwrap();
    assert_eq!(name, "result");
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], "worker_lost", "{view}");
    let mut third = raw_stream_worker(&server, "r-3").await;
    // It is not given to the next worker.
    let run = tokio::time::timeout(Duration::from_millis(500), next_run(&mut third)).await;
    assert!(run.is_err(), "the lost stream ran again: {run:?}");
}

#[tokio::test]
async fn a_client_that_stops_reading_ends_its_task_slow_reader_and_the_worker_stays() {
    let server = serve(&[], &[("SMART_ROUTING_STREAM_BUFFER_BYTES", "65536")]);
    let mut worker = raw_stream_worker(&server, "slow-1").await;
    server.wait_workers(1).await;
    // Opened and never read.
    let _unread = Events::open(&server, &stream_task("slow", json!({}))).await;
    assert_eq!(next_run(&mut worker).await, "slow");
    let pad = "x".repeat(64 * 1024);
    for seq in 0..400 {
        chunk(
            &mut worker,
            "slow",
            seq,
            json!({ "seq": seq, "pad": pad }).to_string(),
        )
        .await;
    }
    let view = server.wait_final("slow").await;
    assert_eq!(view["status"], "failed", "{view}");
    assert_eq!(view["error"]["code"], "slow_reader", "{view}");
    // The worker is told to stop the task, and stays connected.
    loop {
        match worker.next_command().await.unwrap() {
            WorkerCommand::Cancel { task_id } => break assert_eq!(task_id, "slow"),
            _ => continue,
        }
    }
    assert_eq!(server.workers().await, ["slow-1"]);
}

/// Reads `data:` events from an SSE response until it ends.
async fn data_events(mut response: reqwest::Response) -> Vec<Value> {
    let mut text = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), response.chunk())
        .await
        .expect("the stream ends within 20 s")
        .unwrap()
    {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

#[tokio::test]
async fn tritons_generate_and_generate_stream_reach_a_generate_worker() {
    let server = serve(&[], &[]);
    let mut worker = RawWorker::connect(&server, "gen-1").await.unwrap();
    worker.register("gen-1", &["generate"], &["llm"]).await;
    server.wait_workers(1).await;
    let url = |route: &str| format!("{}/v2/models/llm/{route}", server.url);
    // generate: one answer, the worker's result with the model's name.
    let request = json!({ "text_input": "Hello", "parameters": { "max_tokens": 3 } });
    let call = server.http.post(url("generate")).json(&request).send();
    let answering = async {
        let WorkerCommand::Run(run) = worker.next_command().await.unwrap() else {
            panic!("expected a task");
        };
        assert_eq!(
            serde_json::from_str::<Value>(&run.parameters_json).unwrap(),
            request
        );
        let report = TaskReport {
            task_id: run.task_id.clone(),
            outcome: Ok("{\"text_output\":\"Hello world\"}".to_owned()),
            label_miss: false,
            load_ms: 0,
            run_ms: 1,
            failure: Default::default(),
        };
        worker.send(&FromWorker::TaskResult(report)).await;
    };
    let (response, ()) = tokio::join!(call, answering);
    let response = response.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "text_output": "Hello world", "model_name": "llm", "model_version": "1" })
    );
    // generate_stream: one event per chunk, in order, each with the model's name.
    let response = server
        .http
        .post(url("generate_stream"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let task_id = next_run(&mut worker).await;
    for (seq, token) in ["Hello", " world", "!"].into_iter().enumerate() {
        chunk(
            &mut worker,
            &task_id,
            seq as u64,
            json!({ "text_output": token }).to_string(),
        )
        .await;
    }
    result(&mut worker, &task_id).await;
    let events = data_events(response).await;
    let tokens: Vec<&str> = events
        .iter()
        .map(|e| e["text_output"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["Hello", " world", "!"]);
    assert!(events
        .iter()
        .all(|e| e["model_name"] == "llm" && e["model_version"] == "1"));
    // A failure ends the stream with the protocol's error object.
    let response = server
        .http
        .post(url("generate_stream"))
        .json(&request)
        .send()
        .await
        .unwrap();
    let task_id = next_run(&mut worker).await;
    let report = TaskReport {
        task_id,
        outcome: Err("out of memory".to_owned()),
        label_miss: false,
        load_ms: 0,
        run_ms: 1,
        failure: smart_routing::protocol::FailureKind::DeadlineExceeded,
    };
    worker.send(&FromWorker::TaskResult(report)).await;
    let events = data_events(response).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0]["error"]
            .as_str()
            .unwrap()
            .contains("out of memory"),
        "{events:?}"
    );
    // Not a JSON object: refused before any worker sees it.
    let response = server
        .http
        .post(url("generate"))
        .json(&json!([1]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("JSON object"),
        "{body}"
    );
}
