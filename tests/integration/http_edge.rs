//! The HTTP edge: every error in the JSON shape (unknown routes, wrong methods, HEAD,
//! OPTIONS, bad query strings), 405 with `Allow`, 408 for stalled bodies, object-only
//! bodies and bounded nesting. Stalled bodies go over raw TCP.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{serve, Server};

async fn call(server: &Server, method: Method, path: &str) -> reqwest::Response {
    server
        .http
        .request(method, format!("{}{path}", server.url))
        .send()
        .await
        .unwrap()
}

/// Asserts a JSON error with this status and code; returns the response's `Allow`.
async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> Option<String> {
    assert_eq!(response.status().as_u16(), status);
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    allow
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_json_shape() {
    let server = serve(&[], &[]);
    expect_error(call(&server, Method::GET, "/nope").await, 404, "not_found").await;
    expect_error(
        call(&server, Method::POST, "/tasks/a/b").await,
        404,
        "not_found",
    )
    .await;
    let allow = expect_error(
        call(&server, Method::DELETE, "/health").await,
        405,
        "method_not_allowed",
    )
    .await;
    assert_eq!(allow.as_deref(), Some("GET, HEAD, OPTIONS"));
    let allow = expect_error(
        call(&server, Method::PUT, "/tasks/x").await,
        405,
        "method_not_allowed",
    )
    .await;
    assert_eq!(allow.as_deref(), Some("GET, DELETE, HEAD, OPTIONS"));
    let allow = expect_error(
        call(&server, Method::GET, "/send-task").await,
        405,
        "method_not_allowed",
    )
    .await;
    assert_eq!(allow.as_deref(), Some("POST, OPTIONS"));
    // A query string that does not parse.
    expect_error(
        call(&server, Method::GET, "/logs?limit=abc").await,
        422,
        "invalid_field",
    )
    .await;
}

#[tokio::test]
async fn head_and_options_answer_sensibly() {
    let server = serve(&[], &[]);
    let head = call(&server, Method::HEAD, "/health").await;
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.bytes().await.unwrap().is_empty());
    let head = call(&server, Method::HEAD, "/nope").await;
    assert_eq!(head.status().as_u16(), 404);
    assert_eq!(head.headers()["content-type"], "application/json");
    let head = call(&server, Method::HEAD, "/run-task").await;
    assert_eq!(head.status().as_u16(), 405);
    assert_eq!(head.headers()["allow"], "POST, OPTIONS");

    let options = call(&server, Method::OPTIONS, "/tasks/x").await;
    assert_eq!(options.status().as_u16(), 204);
    assert_eq!(options.headers()["allow"], "GET, DELETE, HEAD, OPTIONS");
    expect_error(
        call(&server, Method::OPTIONS, "/nope").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn json_bodies_must_be_the_documented_object() {
    let models = std::env::temp_dir().join(format!("sr-edge-shape-{}", std::process::id()));
    std::fs::create_dir_all(&models).unwrap();
    let server = serve(&[], &[("SMART_ROUTING_MODELS", models.to_str().unwrap())]);
    for body in [
        r#"["positional","sample_task_1","label-1","{}"]"#,
        r#""a string""#,
        "42",
    ] {
        let (status, answer) = server.post_raw("/send-task", body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_field");
    }
    assert_eq!(server.get("/tasks/positional").await.0, 404);
    let (status, answer) = server.post_raw("/upload-model", r#"["x", "/tmp"]"#).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_field");
}

#[tokio::test]
async fn parameters_json_nesting_is_bounded() {
    let server = serve(&[], &[]);
    let arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(1_000_000), "}".repeat(1_000_000));
    for (id, parameters) in [("arrays", arrays), ("objects", objects)] {
        let body =
            json!({"task_id": id, "task_type": "t", "label": "l", "parameters_json": parameters});
        let (status, answer) = server.post("/send-task", &body).await;
        assert_eq!(status, 422, "{id}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_field");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains("64"),
            "{answer}"
        );
        assert_eq!(server.get(&format!("/tasks/{id}")).await.0, 404);
    }
    // At the bound it passes validation (and finds no worker).
    let at_bound = format!("{}{}", "[".repeat(64), "]".repeat(64));
    let body =
        json!({"task_id": "ok", "task_type": "t", "label": "l", "parameters_json": at_bound});
    let (status, answer) = server.post("/send-task", &body).await;
    assert_eq!(answer["error"]["code"], "no_capable_worker", "{answer}");
    assert_eq!(status, 503);
}

/// Sends `head` and `partial` body bytes, then stalls; returns what the server answers.
async fn stall(server: &Server, head: &str, partial: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(partial).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer));
    read.await
        .expect("the server never answered the stalled body")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let models = std::env::temp_dir().join(format!("sr-edge-models-{}", std::process::id()));
    std::fs::create_dir_all(&models).unwrap();
    let server = serve(
        &[],
        &[
            ("SMART_ROUTING_BODY_TIMEOUT_S", "1"),
            ("SMART_ROUTING_MODELS", models.to_str().unwrap()),
        ],
    );
    let head = "POST /send-task HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 1000\r\n\r\n";
    let answer = stall(&server, head, b"{\"tas").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    // A raw model upload that stops sending.
    let head = "POST /upload-model?label=m HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n";
    let answer = stall(&server, head, &[0u8; 10]).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The server is still there for others.
    assert_eq!(server.get("/health").await.0, 200);
}
