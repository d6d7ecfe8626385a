"""python/examples/embed_worker.py gives the Rust engine's embeddings (within 1e-4):
the same texts through the router to the Python worker and to the Rust engine
(`serve --models models --local-workers 1`), and against tests/fixtures/minilm_reference.json."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from conftest import ROOT, Server, start_server
from sdk_helpers import in_background

MODELS = ROOT / "models"
MODEL = "all-MiniLM-L6-v2"
ORT_LIB = ROOT / ".cache" / "onnxruntime" / "libonnxruntime.so"
TEXTS = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium.", "a " * 300]

pytestmark = pytest.mark.skipif(
    not (MODELS / MODEL / "model.onnx").exists() or not ORT_LIB.exists(),
    reason="run scripts/setup.sh first (model and ONNX Runtime)",
)


def load_example():
    spec = importlib.util.spec_from_file_location("embed_worker", ROOT / "python" / "examples" / "embed_worker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["embed_worker"] = module
    spec.loader.exec_module(module)
    module.MODELS = MODELS
    return module


def embed(server: Server, task_id: str, texts: list[str]) -> dict:
    body = {"task_id": task_id, "task_type": "embed_texts", "label": MODEL, "parameters_json": json.dumps({"texts": texts})}
    reply = server.post("/run-task", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def assert_close(got: list[list[float]], want: list[list[float]], tolerance: float = 1e-4) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert len(g) == len(w) == 384
        worst = max(abs(a - b) for a, b in zip(g, w))
        assert worst <= tolerance, worst


def test_the_embed_example_matches_the_rust_engine(server: Server) -> None:
    example = load_example()
    example.worker.url = server.ws_url
    background = in_background(example.worker)
    try:
        server.wait_workers(1)
        python_view = embed(server, "py-1", TEXTS)
        assert python_view["worker"] == "py-embed"
        assert python_view["result"]["dim"] == 384 and python_view["result"]["model"] == MODEL
    finally:
        background.stop()
    fixture = json.loads((ROOT / "tests" / "fixtures" / "minilm_reference.json").read_text())
    assert fixture["texts"] == TEXTS[:3]
    assert_close(python_view["result"]["embeddings"][:3], fixture["embeddings"])

    rust = start_server("--models", str(MODELS), "--local-workers", "1", "--ort-lib", str(ORT_LIB))
    try:
        rust.wait_workers(1)
        rust_view = embed(rust, "rs-1", TEXTS)
    finally:
        rust.stop()
    assert rust_view["worker"] != "py-embed"
    assert_close(python_view["result"]["embeddings"], rust_view["result"]["embeddings"])
