"""A Python SDK generator task (the streaming worker in `workers/streamer.py`, its own
process) streamed through the real binary as Server-Sent Events: `POST /run-task` with
`Accept: text/event-stream` gets each yield as an `event: chunk` before the generator
makes the next, then the result, which `GET /tasks/{id}` shows afterwards; a client that
hangs up gets the generator closed on the worker; Triton's `generate_stream` reaches the
same worker's `generate` task."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sdk_helpers import wait_for

from conftest import WORKERS, Server, start_server



@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server()
    log = open(tmp_path_factory.mktemp("streamer") / "worker.log", "w")
    srv.spawn_sdk_worker(f"{WORKERS / 'streamer.py'}:worker", output=log)
    try:
        srv.wait_workers(1)
        yield srv
    finally:
        srv.stop()
        log.close()


def events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    """(event name, its data as JSON) as each arrives; read as the bytes come, not in blocks."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream"), response.headers
    buffer = ""
    for piece in response.iter_content(chunk_size=None, decode_unicode=True):
        buffer += piece
        while "\n\n" in buffer:
            event, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in event.splitlines())
            yield fields["event"], json.loads(fields["data"])
    assert buffer == "", f"the stream ended mid-event: {buffer!r}"


def data_events(response: requests.Response) -> list[dict]:
    """Every event of a `generate_stream` answer (`data:` only, no names), once it ended."""
    assert response.status_code == 200, response.text
    text = "".join(response.iter_content(chunk_size=None, decode_unicode=True))
    return [json.loads(e.removeprefix("data: ")) for e in text.split("\n\n") if e]


def run_streaming(srv: Server, task_id: str, params: dict) -> requests.Response:
    body = {"task_id": task_id, "task_type": "count", "label": "py", "parameters_json": json.dumps(params)}
    return srv.post("/run-task", json=body, headers={"Accept": "text/event-stream"}, stream=True)


def test_each_yield_arrives_before_the_generator_makes_its_last_then_the_stored_result(
    stream_server: Server, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    # The generator waits for `gate` before its last chunk; the test opens it only once it
    # holds the first, so that chunk cannot have been collected at the end.
    got = events(run_streaming(stream_server, "py-sse-1", {"chunks": 4, "gate": str(gate)}))
    name, first = next(got)
    first_arrived = time.time_ns() // 1_000_000
    assert (name, first["seq"]) == ("chunk", 0), first
    gate.touch()
    rest = list(got)
    chunks = [first] + [data for name, data in rest if name == "chunk"]
    assert [c["seq"] for c in chunks] == [0, 1, 2, 3]
    # The worker stamps each chunk as it makes it: the first was here before the last was made.
    assert first_arrived <= chunks[3]["unix_ms"], (first_arrived, chunks[3]["unix_ms"])
    assert [name for name, _ in rest] == ["chunk"] * 3 + ["result"], "one result, after every chunk"
    view = rest[-1][1]
    assert (view["task_id"], view["status"], view["result"]) == ("py-sse-1", "completed", {"count": 4}), view
    stored = stream_server.get("/tasks/py-sse-1").json()
    assert (stored["status"], stored["result"]) == ("completed", {"count": 4}), stored


def test_a_client_that_hangs_up_closes_the_generator_on_the_worker(stream_server: Server, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    response = run_streaming(stream_server, "py-sse-2", {"chunks": 100000, "pace_ms": 10, "closed": str(closed)})
    name, _ = next(events(response))
    assert name == "chunk"
    response.close()
    wait_for(closed.exists, timeout=20, what="the worker to close the generator")
    record = json.loads(closed.read_text())
    assert record["cancelled"] and record["made"] < record["of"], record
    view = wait_for(lambda: final_view(stream_server, "py-sse-2"), timeout=20, what="the task to end")
    assert view["status"] == "cancelled", view


def final_view(srv: Server, task_id: str) -> dict | None:
    view = srv.get(f"/tasks/{task_id}").json()
    return view if view["status"] in ("completed", "failed", "cancelled") else None


def test_generate_stream_reaches_the_python_generate_task(stream_server: Server) -> None:
    request = {"text_input": "streamed by python"}
    response = stream_server.post("/v2/models/py/generate_stream", json=request, stream=True)
    got = data_events(response)
    assert [e["text_output"] for e in got] == ["streamed", "by", "python"], got
    assert all(e["model_name"] == "py" for e in got), got
