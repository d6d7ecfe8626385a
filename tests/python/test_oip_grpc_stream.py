"""Triton's streaming gRPC call (`ModelStreamInfer`) with the real tritonclient
(`start_stream` + `async_stream_infer`) against the real binary: a decoupled model served
by a Python SDK `generate` worker (another process) answers one response per chunk, in
order, then the final flag; the tiny ONNX model answers one response on the same stream;
errors arrive on the stream and leave it open; requests are in flight together; a client
that hangs up gets its worker's generator closed."""

from __future__ import annotations

import json
import queue
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from sdk_helpers import wait_for

from conftest import WORKERS, Server
from test_oip_triton import EXPECTED, TINY, repository, serve_models

FINAL = "triton_final_response"


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The tiny model on one local worker, and the streaming SDK worker for `generate`."""
    repo = repository(("tiny", TINY))
    srv = serve_models(repo, "--local-workers", "1")
    log = open(tmp_path_factory.mktemp("streamer") / "worker.log", "w")
    srv.spawn_sdk_worker(f"{WORKERS / 'streamer.py'}:worker", "--slots", "4", output=log)
    try:
        srv.wait_workers(2)
        yield srv
    finally:
        srv.stop()
        log.close()
        shutil.rmtree(repo, ignore_errors=True)


class Stream:
    """One `start_stream` stream; responses (result, error) queued as the callback gets them."""

    def __init__(self, url: str) -> None:
        self.client = grpcclient.InferenceServerClient(url=url)
        self.got: queue.Queue = queue.Queue()
        self.client.start_stream(callback=lambda result, error: self.got.put((result, error)))

    def send(self, model: str, inputs: list, request_id: str, **kw) -> None:
        self.client.async_stream_infer(model, inputs, request_id=request_id, **kw)

    def next(self):
        """The next (result, error); a bounded wait, not a timing assertion."""
        return self.got.get(timeout=30)

    def close(self, cancel: bool = False) -> None:
        self.client.stop_stream(cancel_requests=cancel)
        self.client.close()


@pytest.fixture
def stream(stream_server: Server) -> Iterator[Stream]:
    s = Stream(stream_server.grpc_url)  # type: ignore[attr-defined]
    yield s
    s.close()


def text(value: str) -> grpcclient.InferInput:
    tensor = grpcclient.InferInput("text_input", [1], "BYTES")
    tensor.set_data_from_numpy(np.array([value.encode()], dtype=np.object_))
    return tensor


def rows(values: list) -> grpcclient.InferInput:
    data = np.array(values, dtype=np.float32)
    tensor = grpcclient.InferInput("x", list(data.shape), "FP32")
    tensor.set_data_from_numpy(data)
    return tensor


def is_final(result) -> bool:
    return result.get_response().parameters[FINAL].bool_param


def ok(pair):
    result, error = pair
    assert error is None, (error.status(), error.message())
    return result


def test_decoupled_model_one_response_per_chunk_in_order_then_the_final_flag(stream: Stream, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    # The worker holds its last chunk until the test has the first one.
    stream.send("llm", [text("Hello big world")], "r-1", enable_empty_final_response=True,
                parameters={"gate": str(gate)})
    first = ok(stream.next())
    first_arrived = time.time_ns() // 1_000_000
    gate.touch()
    results = [first] + [ok(stream.next()) for _ in range(3)]
    ids = [r.get_response().id for r in results]
    assert ids == ["r-1"] * 4
    assert [is_final(r) for r in results] == [False, False, False, True]
    chunks = results[:3]
    assert [r.as_numpy("text_output")[0] for r in chunks] == [b"Hello", b"big", b"world"]
    index = [r.as_numpy("index") for r in chunks]
    assert [i.dtype for i in index] == [np.int64] * 3 and [int(i[0]) for i in index] == [0, 1, 2]
    assert all(r.get_response().model_name == "llm" for r in results)
    # Streamed: the first response reached the client before the worker made the last chunk.
    last_made = int(chunks[2].as_numpy("unix_ms")[0])
    assert first_arrived <= last_made, (first_arrived, last_made)
    # The final response is empty: the task's result is not repeated.
    assert len(results[3].get_response().outputs) == 0


def test_final_response_carries_the_result_when_there_are_no_chunks(stream: Stream) -> None:
    stream.send("llm", [text("")], "r-empty", enable_empty_final_response=True)
    result = ok(stream.next())
    assert is_final(result) and result.get_response().id == "r-empty"
    assert result.as_numpy("finish_reason")[0] == b"empty"
    assert result.as_numpy("text_output")[0] == b""


def test_without_empty_final_response_only_the_chunks_come(stream: Stream) -> None:
    stream.send("llm", [text("one two")], "r-plain")
    got = [ok(stream.next()) for _ in range(2)]
    assert [(r.get_response().id, is_final(r)) for r in got] == [("r-plain", False)] * 2
    # A later request's answer is the next thing on the stream: no empty final came between.
    stream.send("llm", [text("")], "r-after")
    after = ok(stream.next())
    assert after.get_response().id == "r-after"


def test_onnx_model_over_the_stream_and_errors_that_leave_it_open(stream: Stream) -> None:
    stream.send("tiny", [rows(EXPECTED["inputs"][:2])], "t-1")
    result = ok(stream.next())
    assert result.get_response().id == "t-1" and is_final(result)
    np.testing.assert_allclose(result.as_numpy("y"), np.array(EXPECTED["outputs"][:2], dtype=np.float32), atol=1e-5)
    # A model no worker has, a version that does not exist, a bad input: each an error.
    stream.send("refuse-me", [text("hi")], "bad-1")
    _, error = stream.next()
    assert error is not None and "no model 'refuse-me'" in error.message(), error
    stream.send("tiny", [rows([[0.0] * 4])], "bad-2", model_version="7")
    _, error = stream.next()
    assert error is not None and "no version '7'" in error.message(), error
    stream.send("tiny", [rows([[0.0] * 5])], "bad-3")
    _, error = stream.next()
    assert error is not None and "takes [n, 4]" in error.message(), error
    # Still open: both kinds of model answer.
    stream.send("tiny", [rows(EXPECTED["inputs"][:1])], "t-2")
    assert ok(stream.next()).get_response().id == "t-2"
    stream.send("llm", [text("again")], "r-2", enable_empty_final_response=True)
    assert [(r.get_response().id, is_final(r)) for r in (ok(stream.next()), ok(stream.next()))] == [
        ("r-2", False), ("r-2", True)]


def test_requests_on_one_stream_are_in_flight_together(stream: Stream, tmp_path: Path) -> None:
    gate = tmp_path / "gate-a"
    stream.send("llm", [text("a1 a2")], "a", enable_empty_final_response=True, parameters={"gate": str(gate)})
    stream.send("llm", [text("b1 b2")], "b", enable_empty_final_response=True)
    seen: list[tuple[str, str, bool]] = []

    def take() -> None:
        r = ok(stream.next())
        out = r.as_numpy("text_output")
        seen.append((r.get_response().id, out[0].decode() if out is not None else "", is_final(r)))

    # "b" finishes while "a" waits for its gate: answered side by side, not one by one.
    while ("b", "", True) not in seen:
        take()
    assert ("a", "a2", False) not in seen
    gate.touch()
    while ("a", "", True) not in seen:
        take()
    for rid in "ab":
        assert [s for s in seen if s[0] == rid] == [(rid, f"{rid}1", False), (rid, f"{rid}2", False), (rid, "", True)]


def test_a_client_that_hangs_up_closes_the_generator_on_the_worker(stream_server: Server, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    s = Stream(stream_server.grpc_url)  # type: ignore[attr-defined]
    s.send("llm", [text("tick")], "long", parameters={"repeat": 100000, "pace_ms": 10, "closed": str(closed)})
    assert ok(s.next()).get_response().id == "long"
    s.close(cancel=True)
    wait_for(closed.exists, timeout=20, what="the worker to close the generator")
    record = json.loads(closed.read_text())
    assert record["cancelled"] and record["made"] < record["of"], record
