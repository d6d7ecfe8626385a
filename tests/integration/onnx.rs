//! In-process ONNX workers through the HTTP API: the tiny generated model with exact
//! outputs, the real MiniLM against reference embeddings, loads and evictions with K=1,
//! and a missing ONNX Runtime.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{serve, Server, BIN};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A model repository holding the tiny model under each of `labels`.
fn tiny_repository(labels: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sr-repo-{}-{}",
        std::process::id(),
        labels.join("-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for label in labels {
        let target = dir.join(label);
        std::fs::create_dir_all(&target).unwrap();
        for file in ["model.onnx", "model.toml"] {
            std::fs::copy(fixture("models/tiny").join(file), target.join(file)).unwrap();
        }
    }
    dir
}

fn infer(task_id: &str, label: &str, rows: &Value) -> Value {
    json!({
        "task_id": task_id,
        "task_type": "infer",
        "label": label,
        "parameters_json": json!({ "inputs": rows }).to_string(),
    })
}

fn assert_close(got: &Value, want: &Value, tolerance: f64) {
    let (got, want) = (got.as_array().unwrap(), want.as_array().unwrap());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        let (g, w) = (g.as_array().unwrap(), w.as_array().unwrap());
        assert_eq!(g.len(), w.len());
        for (a, b) in g.iter().zip(w) {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() <= tolerance, "{a} vs {b}");
        }
    }
}

fn local_server(repository: &Path, workers: &str, max_labels: &str) -> Server {
    serve(
        &[
            "--models",
            repository.to_str().unwrap(),
            "--local-workers",
            workers,
        ],
        &[("SMART_ROUTING_LOCAL_MAX_LABELS", max_labels)],
    )
}

#[tokio::test]
async fn the_tiny_model_gives_its_exact_outputs_through_the_api() {
    let expected = read_json(&fixture("tiny_expected.json"));
    let repository = tiny_repository(&["tiny"]);
    let server = local_server(&repository, "1", "2");
    server.wait_workers(1).await;
    assert_eq!(server.get("/labels").await.1, json!({"tiny": []}));
    let (status, view) = server
        .post("/run-task", &infer("t-1", "tiny", &expected["inputs"]))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["worker"], "local-1");
    assert_eq!(view["label_miss"], true);
    assert_close(&view["result"]["outputs"], &expected["outputs"], 1e-5);
    assert_eq!(server.get("/labels").await.1, json!({"tiny": ["local-1"]}));
    // Rows of the wrong width are the task's error, not the worker's.
    let (status, view) = server
        .post("/run-task", &infer("t-2", "tiny", &json!([[1.0, 2.0]])))
        .await;
    assert_eq!(
        (status, view["status"].as_str()),
        (502, Some("failed")),
        "{view}"
    );
    assert!(
        view["error"]["message"].as_str().unwrap().contains("4"),
        "{view}"
    );
}

#[tokio::test]
async fn with_one_label_slot_models_are_loaded_and_evicted_through_routing() {
    let expected = read_json(&fixture("tiny_expected.json"));
    let repository = tiny_repository(&["tiny-a", "tiny-b"]);
    // The original policy: loads only for tasks, so the sequence of misses is exact
    // (affinity may preload the busier label while the worker idles).
    let server = serve(
        &[
            "--models",
            repository.to_str().unwrap(),
            "--local-workers",
            "1",
            "--policy",
            "original",
        ],
        &[("SMART_ROUTING_LOCAL_MAX_LABELS", "1")],
    );
    server.wait_workers(1).await;
    let rows = &expected["inputs"];
    let steps = [
        ("a-1", "tiny-a", true),
        ("a-2", "tiny-a", false),
        ("b-1", "tiny-b", true),
        ("a-3", "tiny-a", true),
    ];
    for (task_id, label, miss) in steps {
        let (status, view) = server.post("/run-task", &infer(task_id, label, rows)).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["label_miss"], miss, "{task_id}: {view}");
        assert_close(&view["result"]["outputs"], &expected["outputs"], 1e-5);
        let (_, labels) = server.get("/labels").await;
        let other = if label == "tiny-a" {
            "tiny-b"
        } else {
            "tiny-a"
        };
        assert_eq!(labels[label], json!(["local-1"]), "{labels}");
        assert_eq!(labels[other], json!([]), "{labels}");
    }
}

#[tokio::test]
async fn bad_embedding_parameters_are_refused_before_dispatch() {
    let repository = tiny_repository(&["tiny"]);
    let server = local_server(&repository, "1", "2");
    server.wait_workers(1).await;
    for params in [
        json!({}),
        json!({"texts": []}),
        json!({"texts": [1, 2]}),
        json!({"texts": ["x".repeat(20_000)]}),
    ] {
        let body = json!({"task_id": "bad", "task_type": "embed_texts", "label": "tiny", "parameters_json": params.to_string()});
        let (status, error) = server.post("/run-task", &body).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (422, Some("invalid_field")),
            "{params}"
        );
    }
    assert_eq!(server.get("/tasks/bad").await.0, 404);
}

#[tokio::test]
async fn minilm_embeddings_match_the_reference_and_published_similarities() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    assert!(
        model.join("all-MiniLM-L6-v2/model.onnx").is_file(),
        "models/all-MiniLM-L6-v2 is missing: run scripts/setup.sh"
    );
    let reference = read_json(&fixture("minilm_reference.json"));
    let server = local_server(&model, "1", "2");
    server.wait_workers(1).await;
    let body = json!({
        "task_id": "m-1",
        "task_type": "embed_texts",
        "label": "all-MiniLM-L6-v2",
        "parameters_json": json!({ "texts": reference["texts"] }).to_string(),
    });
    let (status, view) = server.post("/run-task", &body).await;
    assert_eq!(status, 200, "{view}");
    let result = &view["result"];
    assert_eq!(
        (result["dim"].as_u64(), result["model"].as_str()),
        (Some(384), Some("all-MiniLM-L6-v2"))
    );
    assert_close(&result["embeddings"], &reference["embeddings"], 1e-4);
    let vectors: Vec<Vec<f64>> = serde_json::from_value(result["embeddings"].clone()).unwrap();
    let cosine = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Published sentence-transformers figures for all-MiniLM-L6-v2.
    for (i, j, published) in [(0, 1, 0.6660), (0, 2, 0.1046), (1, 2, 0.1411)] {
        let got = cosine(&vectors[i], &vectors[j]);
        assert!(
            (got - published).abs() <= 0.01,
            "cos({i},{j}) = {got}, published {published}"
        );
    }
    for v in &vectors {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}

#[test]
fn a_missing_onnx_runtime_is_a_clear_startup_error() {
    let repository = tiny_repository(&["tiny"]);
    let output = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--local-workers",
            "1",
            "--models",
        ])
        .arg(&repository)
        .args(["--ort-lib", "/nonexistent/libonnxruntime.so"])
        .env_remove("ORT_DYLIB_PATH")
        .env(
            "SMART_ROUTING_LOG_DIR",
            std::env::temp_dir().join("sr-missing-ort"),
        )
        .env(
            "SMART_ROUTING_DATA_DIR",
            std::env::temp_dir().join("sr-missing-ort").join("data"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ONNX Runtime library not found at --ort-lib /nonexistent"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/setup.sh"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening on"));
}

#[tokio::test]
async fn a_remote_worker_runs_the_same_engine() {
    let expected = read_json(&fixture("tiny_expected.json"));
    let repository = tiny_repository(&["tiny-remote"]);
    let server = serve(&[], &[]);
    let _worker = crate::common::Proc(
        Command::new(BIN)
            .args([
                "worker",
                "--dispatcher",
                &server.ws_url(),
                "--worker-id",
                "onnx-remote",
                "--slots",
                "4",
            ])
            .arg("--models")
            .arg(&repository)
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    server.wait_workers(1).await;
    let (status, view) = server
        .post(
            "/run-task",
            &infer("r-1", "tiny-remote", &expected["inputs"]),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["worker"].as_str(), view["label_miss"].as_bool()),
        (Some("onnx-remote"), Some(true))
    );
    assert_close(&view["result"]["outputs"], &expected["outputs"], 1e-5);
    // The worker announced its repository: a label it lacks is refused at submission.
    let (status, view) = server
        .post("/run-task", &infer("r-2", "absent", &expected["inputs"]))
        .await;
    assert_eq!(
        (status, view["error"]["code"].as_str()),
        (404, Some("unknown_label")),
        "{view}"
    );
    assert_eq!(server.get("/tasks/r-2").await.0, 404, "nothing kept");
}
