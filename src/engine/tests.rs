//! Engine tests that run real models through ONNX Runtime: the tiny fixture model, and
//! all-MiniLM-L6-v2 when `scripts/setup.sh` has installed it. Test-only.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use super::*;
use crate::repository::{CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// True when ONNX Runtime can be loaded; prints why a test is skipped otherwise.
fn runtime_available(test: &str) -> bool {
    match init_runtime(None) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("skipping {test}: {e}");
            false
        }
    }
}

fn tiny_dir() -> PathBuf {
    root().join("tests/fixtures/models/tiny")
}

fn minilm_dir() -> Option<PathBuf> {
    let dir = root().join("models/all-MiniLM-L6-v2");
    dir.join(MODEL_FILE).is_file().then_some(dir)
}

fn fixture(name: &str) -> Value {
    let path = root().join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn matrix(value: &Value) -> Vec<Vec<f32>> {
    serde_json::from_value(value.clone()).unwrap()
}

fn assert_close(got: &[Vec<f32>], want: &[Vec<f32>], tolerance: f32) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len());
        for (a, b) in g.iter().zip(w) {
            assert!(
                (a - b).abs() <= tolerance,
                "{a} vs {b} (row {g:?} vs {w:?})"
            );
        }
    }
}

/// A fresh empty folder under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "smart-routing-engine-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn loaded_models_can_move_to_a_blocking_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<LoadedModel>();
    assert_send::<EngineError>();
}

#[test]
fn tiny_model_matches_numpy_unbatched_and_batched() {
    if !runtime_available("tiny_model_matches_numpy") {
        return;
    }
    let expected = fixture("tiny_expected.json");
    let rows = matrix(&expected["inputs"]);
    let want = matrix(&expected["outputs"]);
    let mut model = LoadedModel::load(&tiny_dir()).unwrap();
    assert_eq!(model.label(), "tiny");
    assert_eq!(model.config().max_batch_size, 8);

    // One task per row.
    for (row, want_row) in rows.iter().zip(&want) {
        let out = model
            .run(INFER, &TaskInput::Rows(vec![row.clone()]))
            .unwrap();
        assert_close(
            &matrix(&out.to_value()["outputs"]),
            std::slice::from_ref(want_row),
            1e-5,
        );
    }
    // All rows in one task, and split over tasks in one batch (plus one bad task).
    let out = model
        .run_json(INFER, &serde_json::json!({ "inputs": rows }).to_string())
        .unwrap();
    assert_close(&matrix(&out.to_value()["outputs"]), &want, 1e-5);
    let inputs = vec![
        TaskInput::Rows(rows[..2].to_vec()),
        TaskInput::Rows(vec![vec![1.0, 2.0]]),
        TaskInput::Rows(rows[2..].to_vec()),
        TaskInput::Texts(vec!["wrong kind".into()]),
    ];
    let results = model.run_batch(INFER, &inputs);
    assert_close(
        &matrix(&results[0].as_ref().unwrap().to_value()["outputs"]),
        &want[..2],
        1e-5,
    );
    let width_err = results[1].as_ref().unwrap_err();
    assert!(
        width_err.to_string().contains("takes 4 per row"),
        "{width_err}"
    );
    assert_close(
        &matrix(&results[2].as_ref().unwrap().to_value()["outputs"]),
        &want[2..],
        1e-5,
    );
    assert_eq!(results[3].as_ref().unwrap_err().code(), "invalid_params");

    // More rows than max_batch_size (8): chunked, same answers.
    let many: Vec<Vec<f32>> = rows.iter().cycle().take(21).cloned().collect();
    let want_many: Vec<Vec<f32>> = want.iter().cycle().take(21).cloned().collect();
    let out = model.run(INFER, &TaskInput::Rows(many)).unwrap();
    assert_close(&matrix(&out.to_value()["outputs"]), &want_many, 1e-5);

    let err = model
        .run(EMBED_TEXTS, &TaskInput::Texts(vec!["a".into()]))
        .unwrap_err();
    assert_eq!(err.code(), "unsupported_task_type");
}

#[test]
fn tiny_model_info_reports_names_types_and_dynamic_dims() {
    if !runtime_available("tiny_model_info") {
        return;
    }
    let info = validate(&tiny_dir()).unwrap();
    let x = TensorInfo {
        name: "x".into(),
        element_type: "f32".into(),
        dims: vec![-1, 4],
    };
    let y = TensorInfo {
        name: "y".into(),
        element_type: "f32".into(),
        dims: vec![-1, 3],
    };
    assert_eq!(info.inputs, vec![x]);
    assert_eq!(info.outputs, vec![y]);
    assert_eq!(info.output, "y");
    assert_eq!(info.task_types, vec!["infer"]);
    assert!(!info.has_tokenizer);
    assert_eq!(info.device, "cpu");
    assert_eq!(
        info.model_bytes,
        std::fs::metadata(tiny_dir().join(MODEL_FILE))
            .unwrap()
            .len()
    );
}

#[test]
fn broken_folders_fail_validate_with_the_reason() {
    if !runtime_available("broken_folders_fail_validate") {
        return;
    }
    let dir = temp_dir("not-onnx");
    std::fs::write(dir.join(MODEL_FILE), b"this is not an ONNX protobuf").unwrap();
    let err = validate(&dir).unwrap_err();
    assert_eq!(err.code(), "model_load_failed");
    let msg = err.to_string();
    assert!(
        msg.contains("model.onnx") && msg.to_lowercase().contains("protobuf"),
        "{msg}"
    );

    let err = validate(&temp_dir("empty")).unwrap_err();
    assert!(err.to_string().contains("cannot read it"), "{err}");

    // A tiny model configured for embed_texts has no tokenizer and no input_ids.
    let dir = temp_dir("tiny-as-embed");
    std::fs::copy(tiny_dir().join(MODEL_FILE), dir.join(MODEL_FILE)).unwrap();
    std::fs::write(dir.join(CONFIG_FILE), "task_types = [\"embed_texts\"]\n").unwrap();
    let err = validate(&dir).unwrap_err();
    assert!(err.to_string().contains("needs a tokenizer.json"), "{err}");

    std::fs::write(dir.join(CONFIG_FILE), "output = \"z\"\n").unwrap();
    let err = validate(&dir).unwrap_err();
    assert!(
        err.to_string().contains("output `z` is not one of"),
        "{err}"
    );

    std::fs::write(dir.join(CONFIG_FILE), "device = \"cuda:0\"\n").unwrap();
    let err = validate(&dir).unwrap_err();
    assert_eq!(err.code(), "device_unavailable", "{err}");
    assert!(err.to_string().contains("allow_cpu_fallback"), "{err}");

    std::fs::write(
        dir.join(CONFIG_FILE),
        "device = \"cuda:0\"\nallow_cpu_fallback = true\n",
    )
    .unwrap();
    let model = LoadedModel::load(&dir).unwrap();
    assert_eq!(model.device(), Device::Cpu);
    let _ = std::fs::remove_dir_all(&dir);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn minilm_matches_the_python_reference() {
    let Some(dir) = minilm_dir() else {
        eprintln!("skipping minilm test: models/all-MiniLM-L6-v2 is absent (run scripts/setup.sh)");
        return;
    };
    if !runtime_available("minilm_matches_the_python_reference") {
        return;
    }
    let reference = fixture("minilm_reference.json");
    let texts: Vec<String> = serde_json::from_value(reference["texts"].clone()).unwrap();
    let want = matrix(&reference["embeddings"]);
    let mut model = LoadedModel::load(&dir).unwrap();
    assert_eq!(model.info().output, "last_hidden_state");

    let out = model
        .run(EMBED_TEXTS, &TaskInput::Texts(texts.clone()))
        .unwrap();
    assert_eq!(out.to_value()["model"], "all-MiniLM-L6-v2");
    assert_eq!(out.to_value()["dim"], 384);
    let got = matrix(&out.to_value()["embeddings"]);
    assert_close(&got, &want, 1e-4);
    for (key, (i, j)) in [("0-1", (0, 1)), ("0-2", (0, 2)), ("1-2", (1, 2))] {
        let want_cos = reference["cosine"][key].as_f64().unwrap() as f32;
        let got_cos = cosine(&got[i], &got[j]);
        eprintln!("cos(s{i}, s{j}) = {got_cos:.4} (reference {want_cos:.4})");
        assert!(
            (got_cos - want_cos).abs() < 0.01,
            "{key}: {got_cos} vs {want_cos}"
        );
    }

    // The same texts spread over tasks in one batch, and one at a time: same vectors.
    let inputs: Vec<TaskInput> = texts
        .iter()
        .map(|t| TaskInput::Texts(vec![t.clone()]))
        .collect();
    for (result, want_row) in model.run_batch(EMBED_TEXTS, &inputs).iter().zip(&want) {
        let got = matrix(&result.as_ref().unwrap().to_value()["embeddings"]);
        assert_close(&got, std::slice::from_ref(want_row), 1e-4);
    }
    let single = model.run_json(
        EMBED_TEXTS,
        &serde_json::json!({ "texts": [texts[2]] }).to_string(),
    );
    assert_close(
        &matrix(&single.unwrap().to_value()["embeddings"]),
        &want[2..],
        1e-4,
    );

    // A text longer than max_length is truncated, not refused.
    let long = "word ".repeat(2000);
    let out = model
        .run(EMBED_TEXTS, &TaskInput::Texts(vec![long]))
        .unwrap();
    let v = matrix(&out.to_value()["embeddings"]);
    let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
}

/// Timings for the report, with 1 and 2 intra-op threads:
/// `cargo test --release --lib engine::tests::minilm_timings -- --ignored --nocapture`.
#[test]
#[ignore]
fn minilm_timings() {
    let Some(source) = minilm_dir() else { return };
    if !runtime_available("minilm_timings") {
        return;
    }
    let one = TaskInput::Texts(vec!["The weather is lovely today.".into()]);
    let texts: Vec<String> = (0..32)
        .map(|i| format!("Sentence number {i} is about the weather today."))
        .collect();
    let batch = TaskInput::Texts(texts);
    for threads in [1, 2] {
        let dir = temp_dir(&format!("minilm-threads-{threads}"));
        for file in [MODEL_FILE, TOKENIZER_FILE] {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
        std::fs::write(
            dir.join(CONFIG_FILE),
            format!("intra_op_threads = {threads}\n"),
        )
        .unwrap();
        let mut model = LoadedModel::load(&dir).unwrap();
        for (name, input, reps) in [("1 sentence", &one, 50), ("32 sentences", &batch, 10)] {
            model.run(EMBED_TEXTS, input).unwrap();
            let started = Instant::now();
            for _ in 0..reps {
                model.run(EMBED_TEXTS, input).unwrap();
            }
            let per_call = started.elapsed() / reps;
            eprintln!("embed {name}: {per_call:?} per call ({threads} intra-op threads)");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
