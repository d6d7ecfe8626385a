//! The model repository over HTTP: `POST /upload-model` (raw body and server-side path)
//! and `GET /models`, with the tiny generated model; bad uploads leave nothing behind.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{serve, Server};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn tiny_bytes() -> Vec<u8> {
    std::fs::read(fixture("models/tiny/model.onnx")).unwrap()
}

/// A fresh, empty model repository.
fn empty_repository(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sr-upload-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What `ls -a` shows in `dir` (hidden staging folders included), sorted.
fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn repository_server(repository: &Path, workers: &str, env: &[(&str, &str)]) -> Server {
    serve(
        &[
            "--models",
            repository.to_str().unwrap(),
            "--local-workers",
            workers,
        ],
        env,
    )
}

/// `POST /upload-model?label=..&overwrite=..` with the model as a raw body.
async fn upload_raw(server: &Server, label: &str, overwrite: bool, bytes: Vec<u8>) -> (u16, Value) {
    let response = server
        .http
        .post(format!("{}/upload-model", server.url))
        .query(&[
            ("label", label),
            ("overwrite", if overwrite { "true" } else { "false" }),
        ])
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn upload_path(server: &Server, label: &str, path: &Path, overwrite: bool) -> (u16, Value) {
    let body = json!({ "label": label, "path": path, "overwrite": overwrite });
    server.post("/upload-model", &body).await
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test]
async fn a_raw_upload_is_registered_listed_and_served() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("tiny_expected.json")).unwrap())
            .unwrap();
    let repository = empty_repository("raw");
    let server = repository_server(&repository, "1", &[]);
    server.wait_workers(1).await;

    let (status, body) = upload_raw(&server, "up", false, tiny_bytes()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["label"].as_str()),
        (Some("success"), Some("up"))
    );
    assert_eq!(body["model_name"], "up");
    assert_eq!(
        body["inputs"],
        json!([{"name": "x", "element_type": "f32", "dims": [-1, 4]}])
    );
    assert_eq!(body["outputs"][0]["dims"], json!([-1, 3]), "{body}");
    assert_eq!(body["task_types"], json!(["infer"]));
    assert_eq!(ls(&repository), ["up"]);

    assert_eq!(server.get("/labels").await.1, json!({"up": []}));
    let (status, models) = server.get("/models").await;
    assert_eq!(status, 200);
    assert_eq!(
        models,
        json!({"models": [{"label": "up", "task_types": ["infer"], "files": ["model.onnx"], "bytes": tiny_bytes().len()}]})
    );

    let task = json!({
        "task_id": "up-1",
        "task_type": "infer",
        "label": "up",
        "parameters_json": json!({ "inputs": expected["inputs"] }).to_string(),
    });
    let (status, view) = server.post("/run-task", &task).await;
    assert_eq!(status, 200, "{view}");
    let got: Vec<Vec<f64>> = serde_json::from_value(view["result"]["outputs"].clone()).unwrap();
    let want: Vec<Vec<f64>> = serde_json::from_value(expected["outputs"].clone()).unwrap();
    for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
        assert!((g - w).abs() <= 1e-5, "{g} vs {w}");
    }
    assert_eq!(got.len(), want.len());

    // The same label without overwrite: refused, the folder as it was (no model.toml).
    let (status, body) = upload_path(&server, "up", &fixture("models/tiny"), false).await;
    assert_eq!((status, code(&body)), (409, Some("label_exists")), "{body}");
    assert_eq!(ls(&repository.join("up")), ["model.onnx"]);
    let (status, body) = upload_raw(&server, "up", false, tiny_bytes()).await;
    assert_eq!((status, code(&body)), (409, Some("label_exists")), "{body}");

    // With overwrite: replaced, and the client is told loaded copies stay until evicted.
    let (status, body) = upload_path(&server, "up", &fixture("models/tiny"), true).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("evict"),
        "{body}"
    );
    assert_eq!(ls(&repository), ["up"]);
    assert_eq!(ls(&repository.join("up")), ["model.onnx", "model.toml"]);
}

#[tokio::test]
async fn a_file_that_is_not_a_model_is_refused_and_leaves_nothing_behind() {
    let repository = empty_repository("garbage");
    let server = repository_server(&repository, "0", &[]);
    let (status, body) =
        upload_raw(&server, "junk", false, b"this is not an onnx file".to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (422, Some("invalid_model")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("not a usable model: model.onnx: ") && message.len() > 40,
        "{body}"
    );
    assert!(ls(&repository).is_empty(), "{:?}", ls(&repository));
    assert_eq!(server.get("/models").await.1, json!({"models": []}));
    assert_eq!(server.get("/labels").await.1, json!({}));

    // Garbage over an existing model: the old one stays.
    assert_eq!(
        upload_raw(&server, "kept", false, tiny_bytes()).await.0,
        201
    );
    let (status, body) = upload_raw(&server, "kept", true, vec![0u8; 300]).await;
    assert_eq!(
        (status, code(&body)),
        (422, Some("invalid_model")),
        "{body}"
    );
    assert_eq!(ls(&repository), ["kept"]);
    assert_eq!(
        std::fs::read(repository.join("kept/model.onnx")).unwrap(),
        tiny_bytes()
    );
}

#[tokio::test]
async fn labels_paths_and_content_types_are_checked() {
    let repository = empty_repository("checks");
    let server = repository_server(&repository, "0", &[]);
    for label in ["../x", "", ".hidden", "a/b", "x y"] {
        let (status, body) = upload_raw(&server, label, false, tiny_bytes()).await;
        assert_eq!(
            (status, code(&body)),
            (422, Some("invalid_field")),
            "{label:?}: {body}"
        );
        let (status, body) = upload_path(&server, label, &fixture("models/tiny"), false).await;
        assert_eq!(
            (status, code(&body)),
            (422, Some("invalid_field")),
            "{label:?}: {body}"
        );
    }
    let missing = fixture("models/no-such-model");
    let (status, body) = upload_path(&server, "gone", &missing, false).await;
    assert_eq!(
        (status, code(&body)),
        (422, Some("invalid_field")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("path: "),
        "{body}"
    );
    let (status, body) = upload_path(
        &server,
        "rel",
        Path::new("tests/fixtures/models/tiny"),
        false,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (422, Some("invalid_field")),
        "{body}"
    );
    let (status, body) = upload_path(&server, "empty-dir", &repository, false).await;
    assert_eq!(
        (status, code(&body)),
        (422, Some("invalid_field")),
        "{body}"
    );
    let (status, body) = server.post("/upload-model", &json!({"path": "/tmp"})).await;
    assert_eq!(
        (status, code(&body)),
        (422, Some("invalid_field")),
        "{body}"
    );
    let response = server
        .http
        .post(format!("{}/upload-model?label=t", server.url))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    assert!(ls(&repository).is_empty(), "{:?}", ls(&repository));

    // A folder (model.onnx and model.toml) and a lone ONNX file, both by path.
    let (status, body) = upload_path(&server, "tiny", &fixture("models/tiny"), false).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["inputs"][0]["name"], "x");
    let (status, body) = upload_path(
        &server,
        "tiny-file",
        &fixture("models/tiny/model.onnx"),
        false,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, models) = server.get("/models").await;
    let models = models["models"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{models:?}");
    assert_eq!(
        (models[0]["label"].as_str(), &models[0]["files"]),
        (Some("tiny"), &json!(["model.onnx", "model.toml"]))
    );
    assert_eq!(
        (models[1]["label"].as_str(), &models[1]["files"]),
        (Some("tiny-file"), &json!(["model.onnx"]))
    );
    assert_eq!(
        server.get("/labels").await.1,
        json!({"tiny": [], "tiny-file": []})
    );
    assert_eq!(ls(&repository), ["tiny", "tiny-file"]);
}

/// Sends a chunked body (no `Content-Length`) by hand; the status line's code.
async fn post_chunked(server: &Server, path: &str, chunks: usize, chunk_len: usize) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..chunks {
        // The server may answer and close before the whole body is sent.
        let chunk = format!("{chunk_len:x}\r\n{}\r\n", "a".repeat(chunk_len));
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn bodies_over_the_upload_limit_are_refused() {
    let repository = empty_repository("limit");
    let server = repository_server(
        &repository,
        "0",
        &[("SMART_ROUTING_MAX_UPLOAD_BYTES", "1000")],
    );
    let (status, body) = upload_raw(&server, "big", false, vec![7u8; 2000]).await;
    assert_eq!(
        (status, code(&body)),
        (413, Some("body_too_large")),
        "{body}"
    );
    // Without a Content-Length, counted as it streams in.
    assert_eq!(
        post_chunked(&server, "/upload-model?label=big", 4, 600).await,
        413
    );
    assert!(ls(&repository).is_empty(), "{:?}", ls(&repository));
    // The tiny model (502 bytes) fits.
    assert_eq!(
        upload_raw(&server, "small", false, tiny_bytes()).await.0,
        201
    );
}

#[tokio::test]
async fn without_a_repository_or_a_runtime_uploads_say_why() {
    let server = serve(&[], &[]);
    let (status, body) = upload_raw(&server, "x", false, tiny_bytes()).await;
    assert_eq!(
        (status, code(&body)),
        (409, Some("no_model_repository")),
        "{body}"
    );
    let (status, body) = server.get("/models").await;
    assert_eq!(
        (status, code(&body)),
        (409, Some("no_model_repository")),
        "{body}"
    );

    let repository = empty_repository("no-ort");
    let server = serve(
        &[
            "--models",
            repository.to_str().unwrap(),
            "--ort-lib",
            "/nonexistent/libonnxruntime.so",
        ],
        &[],
    );
    let (status, body) = upload_raw(&server, "x", false, tiny_bytes()).await;
    assert_eq!(
        (status, code(&body)),
        (503, Some("runtime_missing")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scripts/setup.sh"),
        "{body}"
    );
    assert!(ls(&repository).is_empty(), "{:?}", ls(&repository));
}
