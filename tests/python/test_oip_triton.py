"""Open Inference Protocol (KServe v2) with the real Triton clients, over HTTP and gRPC:
health, metadata, inference on the tiny model (exact outputs) and on MiniLM (equal to
/run-task's embeddings), the repository extension, and the errors a client can cause."""

from __future__ import annotations

import json
import queue
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from conftest import ROOT, Server, start_server

FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "models" / "tiny"
MINILM = ROOT / "models" / "all-MiniLM-L6-v2"
ORT_LIB = ROOT / ".cache" / "onnxruntime" / "libonnxruntime.so.1.31.1"
EXPECTED = json.loads((FIXTURES / "tiny_expected.json").read_text())


def repository(*models: tuple[str, Path]) -> Path:
    """A fresh model repository: each (label, folder) linked in."""
    repo = Path(tempfile.mkdtemp(prefix="sr-oip-repo-"))
    for label, source in models:
        (repo / label).symlink_to(source)
    return repo


def serve_models(repo: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    assert MINILM.joinpath("model.onnx").is_file(), "models/all-MiniLM-L6-v2 is missing: run scripts/setup.sh"
    srv = start_server("--models", str(repo), "--ort-lib", str(ORT_LIB), "--grpc-bind", "127.0.0.1:0", *args, env=env)
    assert srv.proc.stdout is not None
    line = srv.proc.stdout.readline().strip()
    prefix = "grpc listening on "
    if not line.startswith(prefix):
        srv.stop()
        raise AssertionError(f"unexpected second line from serve: {line!r}")
    srv.grpc_url = line[len(prefix):]  # type: ignore[attr-defined]
    return srv


@contextmanager
def serving(*models: tuple[str, Path]) -> Iterator[Server]:
    """A server with these models in a fresh repository and one local worker, connected;
    stopped, and its repository removed, on leaving."""
    repo = repository(*models)
    srv = serve_models(repo, "--local-workers", "1")
    try:
        srv.wait_workers(1)
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(repo, ignore_errors=True)


@pytest.fixture(scope="module")
def oip() -> Iterator[Server]:
    """One server with one local worker and the tiny model and MiniLM in its repository."""
    with serving(("tiny", TINY), ("all-MiniLM-L6-v2", MINILM)) as srv:
        yield srv


def http_client(srv: Server) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(url=srv.url.removeprefix("http://"), network_timeout=60)


def grpc_client(srv: Server) -> grpcclient.InferenceServerClient:
    return grpcclient.InferenceServerClient(url=srv.grpc_url)  # type: ignore[attr-defined]


CLIENTS = {"http": (httpclient, http_client), "grpc": (grpcclient, grpc_client)}


@pytest.fixture(params=list(CLIENTS))
def client(request, oip: Server):
    module, make = CLIENTS[request.param]
    return module, make(oip)


def test_server_live_ready_and_metadata(client, oip: Server) -> None:
    _, c = client
    assert c.is_server_live()
    assert c.is_server_ready()
    assert oip.get("/v2/health/ready").json() == {"ready": True}
    meta = c.get_server_metadata()
    name = meta["name"] if isinstance(meta, dict) else meta.name
    assert name == "smart-routing"


def test_not_ready_without_workers(server: Server) -> None:
    """Live at once, ready only once a worker can run inference (Triton answers 400)."""
    c = http_client(server)
    assert c.is_server_live()
    assert not c.is_server_ready()
    ready = server.get("/v2/health/ready")
    assert ready.status_code == 400 and ready.json() == {"ready": False}
    # The protocol's REST schema bodies, which KServe's client reads.
    assert server.get("/v2/health/live").json() == {"live": True}


def test_model_ready_and_metadata(client) -> None:
    _, c = client
    assert c.is_model_ready("tiny")
    assert c.is_model_ready("all-MiniLM-L6-v2")
    assert not c.is_model_ready("no-such-model")
    meta = c.get_model_metadata("tiny")
    if not isinstance(meta, dict):
        from google.protobuf.json_format import MessageToDict

        meta = MessageToDict(meta, preserving_proto_field_name=True)
    assert meta["inputs"][0]["datatype"] == "FP32"
    assert [int(d) for d in meta["inputs"][0]["shape"]] == [-1, 4]
    assert [int(d) for d in meta["outputs"][0]["shape"]] == [-1, 3]


def tiny_input(module, rows: np.ndarray, name: str = "x", datatype: str = "FP32"):
    tensor = module.InferInput(name, list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows)
    return tensor


@pytest.mark.parametrize("binary", [True, False])
def test_infer_tiny_model_exact_outputs(client, binary: bool) -> None:
    module, c = client
    rows = np.array(EXPECTED["inputs"], dtype=np.float32)
    tensor = module.InferInput("x", list(rows.shape), "FP32")
    if module is httpclient:
        tensor.set_data_from_numpy(rows, binary_data=binary)
        outputs = [module.InferRequestedOutput("y", binary_data=binary)]
    else:
        tensor.set_data_from_numpy(rows)
        outputs = [module.InferRequestedOutput("y")]
    result = c.infer("tiny", [tensor], outputs=outputs)
    got = result.as_numpy("y")
    assert got.dtype == np.float32 and got.shape == (5, 3)
    np.testing.assert_allclose(got, np.array(EXPECTED["outputs"], dtype=np.float32), atol=1e-5, rtol=0)


def test_infer_tiny_model_default_outputs(client) -> None:
    """No outputs named: tritonclient's HTTP client then asks for binary outputs."""
    module, c = client
    rows = np.array(EXPECTED["inputs"][:2], dtype=np.float32)
    got = c.infer("tiny", [tiny_input(module, rows)]).as_numpy("y")
    np.testing.assert_allclose(got, np.array(EXPECTED["outputs"][:2], dtype=np.float32), atol=1e-5, rtol=0)


def test_infer_minilm_matches_run_task(client, oip: Server) -> None:
    module, c = client
    texts = ["The cat sits on the mat.", "A dog runs in the park.", "Stock markets fell sharply today."]
    tensor = module.InferInput("TEXT", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=np.object_))
    got = c.infer("all-MiniLM-L6-v2", [tensor]).as_numpy("EMBEDDINGS")
    assert got.shape == (3, 384) and got.dtype == np.float32
    body = {
        "task_id": f"oip-ref-{module.__name__}-{time.monotonic_ns()}",
        "task_type": "embed_texts",
        "label": "all-MiniLM-L6-v2",
        "parameters_json": json.dumps({"texts": texts}),
    }
    view = oip.post("/run-task", json=body).json()
    assert view["status"] == "completed", view
    want = np.array(view["result"]["embeddings"], dtype=np.float32)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def expect_error(call, status_http: str, fragment: str) -> str:
    with pytest.raises(InferenceServerException) as err:
        call()
    message = err.value.message()
    assert fragment in message, message
    # The HTTP status, or the gRPC code the server maps it to.
    grpc_code = {"400": "INVALID_ARGUMENT", "404": "NOT_FOUND", "422": "INVALID_ARGUMENT"}[status_http]
    assert err.value.status() in (status_http, f"StatusCode.{grpc_code}"), err.value.status()
    return message


def test_unknown_model(client) -> None:
    module, c = client
    rows = np.zeros((1, 4), dtype=np.float32)
    expect_error(lambda: c.infer("no-such-model", [tiny_input(module, rows)]), "404", "unknown model 'no-such-model'")
    expect_error(lambda: c.get_model_metadata("no-such-model"), "404", "unknown model")


def test_wrong_shape(client) -> None:
    module, c = client
    rows = np.zeros((2, 5), dtype=np.float32)
    expect_error(lambda: c.infer("tiny", [tiny_input(module, rows)]), "400", "takes [n, 4]")


def test_wrong_datatype(client) -> None:
    module, c = client
    ints = np.zeros((1, 4), dtype=np.int64)
    expect_error(lambda: c.infer("tiny", [tiny_input(module, ints, datatype="INT64")]), "400", "datatype INT64")
    texts = module.InferInput("x", [1], "BYTES")
    texts.set_data_from_numpy(np.array([b"hello"], dtype=np.object_))
    expect_error(lambda: c.infer("tiny", [texts]), "400", "takes FP32")


def test_wrong_input_name(client) -> None:
    module, c = client
    rows = np.zeros((1, 4), dtype=np.float32)
    expect_error(lambda: c.infer("tiny", [tiny_input(module, rows, name="nope")]), "400", "has no input 'nope'")


def index_names(c) -> dict[str, str]:
    index = c.get_model_repository_index()
    if not isinstance(index, list):
        index = [{"name": m.name, "state": m.state} for m in index.models]
    return {m["name"]: m["state"] for m in index}


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_repository_index_load_unload_and_load_with_files(kind: str) -> None:
    repo = repository(("tiny", TINY), ("all-MiniLM-L6-v2", MINILM))
    srv = serve_models(repo, "--local-workers", "1")
    try:
        srv.wait_workers(1)
        module, make = CLIENTS[kind]
        c = make(srv)
        assert index_names(c) == {"tiny": "READY", "all-MiniLM-L6-v2": "READY"}
        rows = np.array(EXPECTED["inputs"][:1], dtype=np.float32)

        c.unload_model("tiny")
        assert not c.is_model_ready("tiny")
        assert index_names(c)["tiny"] == "UNAVAILABLE"
        expect_error(lambda: c.infer("tiny", [tiny_input(module, rows)]), "400", "is unloaded")
        c.load_model("tiny")
        assert c.is_model_ready("tiny")
        got = c.infer("tiny", [tiny_input(module, rows)]).as_numpy("y")
        np.testing.assert_allclose(got, np.array(EXPECTED["outputs"][:1], dtype=np.float32), atol=1e-5, rtol=0)

        expect_error(lambda: c.load_model("no-such-model"), "404", "unknown model")
        expect_error(lambda: c.unload_model("no-such-model"), "404", "unknown model")

        # A new model sent as files, the way Triton's clients send them.
        files = {"file:1/model.onnx": (TINY / "model.onnx").read_bytes(), "file:1/model.toml": (TINY / "model.toml").read_bytes()}
        c.load_model("tiny-copy", config=json.dumps({"backend": "onnxruntime"}), files=files)
        assert (repo / "tiny-copy" / "model.onnx").read_bytes() == files["file:1/model.onnx"]
        assert index_names(c)["tiny-copy"] == "READY"
        got = c.infer("tiny-copy", [tiny_input(module, rows)]).as_numpy("y")
        np.testing.assert_allclose(got, np.array(EXPECTED["outputs"][:1], dtype=np.float32), atol=1e-5, rtol=0)
        bad = {"file:1/model.onnx": b"not an onnx model"}
        expect_error(lambda: c.load_model("broken", config="{}", files=bad), "422", "not a usable model")
        assert not (repo / "broken").exists()
    finally:
        srv.stop()
        shutil.rmtree(repo, ignore_errors=True)


def test_errors_use_the_protocol_shape(oip: Server) -> None:
    r = oip.post("/v2/models/tiny/infer", data=b"{not json")
    assert r.status_code == 400 and set(r.json()) == {"error"}
    r = oip.get("/v2/no/such/route")
    assert r.status_code == 404 and set(r.json()) == {"error"}
    r = oip.post("/v2/models/tiny/infer", json={"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]})
    assert r.status_code == 400 and "4 elements" in r.json()["error"]
    # Plain JSON in, JSON out, with f32 numbers.
    r = oip.post("/v2/models/tiny/infer", json={"id": "q1", "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": EXPECTED["inputs"][1]}]})
    body = r.json()
    assert r.status_code == 200 and body["id"] == "q1" and body["model_name"] == "tiny"
    assert body["outputs"][0]["shape"] == [1, 3]
    np.testing.assert_allclose(body["outputs"][0]["data"], EXPECTED["outputs"][1], atol=1e-5)


def test_label_aware_routing_keeps_hitting_holders() -> None:
    """Two local workers holding one model each (K=1), two models asked for at once: after
    the first loads, every request goes to the worker holding its model (no more loads),
    and /labels shows the placement."""
    repo = repository(("tiny", TINY), ("tiny-b", TINY))
    srv = serve_models(repo, "--local-workers", "2", env={"SMART_ROUTING_LOCAL_MAX_LABELS": "1"})
    try:
        srv.wait_workers(2)
        rows = np.array(EXPECTED["inputs"][:1], dtype=np.float32)
        want = np.array(EXPECTED["outputs"][:1], dtype=np.float32)

        def hammer(model: str, n: int) -> None:
            c = http_client(srv)
            for _ in range(n):
                got = c.infer(model, [tiny_input(httpclient, rows)]).as_numpy("y")
                np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)

        def both(n: int) -> None:
            with ThreadPoolExecutor(2) as pool:
                for f in [pool.submit(hammer, m, n) for m in ("tiny", "tiny-b")]:
                    f.result()

        both(3)
        labels = srv.get("/labels").json()
        assert len(labels["tiny"]) == 1 and len(labels["tiny-b"]) == 1, labels
        assert labels["tiny"] != labels["tiny-b"], labels
        misses = {m: s["misses"] for m, s in srv.get("/labels/stats").json().items()}
        both(20)
        assert srv.get("/labels").json() == labels
        stats = srv.get("/labels/stats").json()
        for model in ("tiny", "tiny-b"):
            assert stats[model]["misses"] == misses[model], stats
            assert stats[model]["requests"] >= 23, stats
    finally:
        srv.stop()
        shutil.rmtree(repo, ignore_errors=True)


def test_grpc_stream_unknown_model_is_an_error_on_the_stream_which_stays_open(oip: Server) -> None:
    """`ModelStreamInfer` without any generate worker: an unknown model's error arrives on
    the stream, and the stream answers the next request (one response, final)."""
    got: queue.Queue = queue.Queue()
    c = grpc_client(oip)
    c.start_stream(callback=lambda result, error: got.put((result, error)))
    try:
        rows = np.array(EXPECTED["inputs"][:1], dtype=np.float32)
        c.async_stream_infer("no-such-model", [tiny_input(grpcclient, rows)], request_id="u-1")
        result, error = got.get(timeout=30)
        assert result is None and "unknown model 'no-such-model'" in error.message(), error
        c.async_stream_infer("tiny", [tiny_input(grpcclient, rows)], request_id="u-2")
        result, error = got.get(timeout=30)
        assert error is None, error
        response = result.get_response()
        assert response.id == "u-2" and response.parameters["triton_final_response"].bool_param
        np.testing.assert_allclose(result.as_numpy("y"), np.array(EXPECTED["outputs"][:1], dtype=np.float32), atol=1e-5)
    finally:
        c.stop_stream()
        c.close()
