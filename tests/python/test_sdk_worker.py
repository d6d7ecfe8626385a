"""The Python worker SDK against the real server on a loopback port: registration, tasks
(sync and async), labels (miss, hit, eviction), cancel, errors, deadline, concurrency."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import Server
from sdk_helpers import Background, in_background, wait_for

from smart_routing_worker import TaskContext, Worker


@pytest.fixture
def serve_worker() -> Iterator[Callable[[Worker], Background]]:
    """Starts workers on background threads; stops them (drained) after the test."""
    started: list[Background] = []

    def start(worker: Worker) -> Background:
        background = in_background(worker)
        started.append(background)
        return background

    yield start
    for background in started:
        background.stop()


def task(task_id: str, task_type: str, label: str, params: str = "{}", **extra: object) -> dict:
    return {"task_id": task_id, "task_type": task_type, "label": label, "parameters_json": params, **extra}


def test_registers_runs_and_shows_in_workers_and_labels(server: Server, serve_worker) -> None:
    worker = Worker(server.ws_url, worker_id="py-1", max_labels=2, slots=1)
    loads: list[str] = []

    @worker.loader
    def load(label: str) -> str:
        loads.append(label)
        return f"model-{label}"

    @worker.task("echo")
    def echo(model: str, params: dict, ctx: TaskContext) -> dict:
        return {"model": model, "params": params, "task_id": ctx.task_id, "type": ctx.task_type}

    serve_worker(worker)
    assert server.wait_workers(1) == ["py-1"]
    first = server.post("/run-task", json=task("t-1", "echo", "m-a", '{"x": [1, 2]}'))
    assert first.status_code == 200, first.text
    view = first.json()
    assert view["worker"] == "py-1"
    assert view["result"] == {"model": "model-m-a", "params": {"x": [1, 2]}, "task_id": "t-1", "type": "echo"}
    assert view["label_miss"] is True
    # The second task on the same label is a hit: no second load.
    second = server.post("/run-task", json=task("t-2", "echo", "m-a")).json()
    assert second["status"] == "completed" and second["label_miss"] is False
    assert loads == ["m-a"]
    assert server.get("/labels").json() == {"m-a": ["py-1"]}


def test_eviction_calls_the_unloader_with_the_model(server: Server, serve_worker) -> None:
    worker = Worker(server.ws_url, worker_id="py-k1", max_labels=1)
    unloaded: list[tuple[str, object]] = []

    @worker.loader
    def load(label: str) -> dict:
        return {"weights": label}

    @worker.unloader
    def unload(label: str, model: object) -> None:
        unloaded.append((label, model))

    @worker.task("echo")
    def echo(model: dict, params: dict, ctx: TaskContext) -> dict:
        return model

    serve_worker(worker)
    server.wait_workers(1)
    for task_id, label in (("e-1", "a"), ("e-2", "b")):
        reply = server.post("/run-task", json=task(task_id, "echo", label))
        assert reply.json()["result"] == {"weights": label}, reply.text
    assert unloaded == [("a", {"weights": "a"})]
    wait_for(lambda: server.get("/labels").json().get("b") == ["py-k1"], what="label b on py-k1")
    assert server.get("/labels").json().get("a") in (None, [])


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_cancel_sets_ctx_cancelled_and_the_worker_goes_on(server: Server, serve_worker, kind: str) -> None:
    worker = Worker(server.ws_url, worker_id=f"py-c-{kind}")
    started, saw_cancel = threading.Event(), threading.Event()

    if kind == "sync":

        @worker.task("block")
        def block(model: None, params: dict, ctx: TaskContext) -> dict:
            started.set()
            end = time.monotonic() + 20
            while not ctx.cancelled and time.monotonic() < end:
                time.sleep(0.005)
            if ctx.cancelled:
                saw_cancel.set()
            return {}

    else:

        @worker.task("block")
        async def block(model: None, params: dict, ctx: TaskContext) -> dict:
            started.set()
            try:
                await asyncio.sleep(20)
            except asyncio.CancelledError:
                if ctx.cancelled:
                    saw_cancel.set()
                raise
            return {}

    @worker.task("echo")
    def echo(model: None, params: dict, ctx: TaskContext) -> dict:
        return params

    serve_worker(worker)
    server.wait_workers(1)
    assert server.post("/send-task", json=task("c-1", "block", "l")).status_code in (200, 202)
    assert started.wait(10)
    cancelled = requests.delete(f"{server.url}/tasks/c-1", timeout=10)
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    assert saw_cancel.wait(10), "ctx.cancelled never became True"
    # The slot comes back once the worker reported the cancelled task.
    after = server.post("/run-task", json=task("c-2", "echo", "l", '{"ok": 1}'))
    assert after.status_code == 200 and after.json()["result"] == {"ok": 1}, after.text


def test_exceptions_fail_the_task_with_their_message(server: Server, serve_worker) -> None:
    worker = Worker(server.ws_url, worker_id="py-err")

    @worker.loader
    def load(label: str) -> str:
        if label == "broken":
            raise OSError("weights file is corrupt")
        return label

    @worker.task("fail")
    def fail(model: str, params: dict, ctx: TaskContext) -> dict:
        raise ValueError(f"bad input {params['n']}")

    @worker.task("nan")
    def nan(model: str, params: dict, ctx: TaskContext) -> dict:
        return {"value": float("nan"), "set": {1}}

    @worker.task("echo")
    async def echo(model: str, params: dict, ctx: TaskContext) -> dict:
        return {"label": model}

    serve_worker(worker)
    server.wait_workers(1)
    # A loader that raises is a failed load (LOAD_FAILED): with no other worker to load
    # the label, the task fails load_failed, with the loader's message.
    cases = [
        (task("f-1", "fail", "ok", '{"n": 7}'), "task_failed", "ValueError: bad input 7"),
        (task("f-2", "echo", "broken"), "load_failed", "cannot load label 'broken': OSError: weights file is corrupt"),
        (task("f-3", "nan", "ok"), "task_failed", "not JSON-serialisable"),
    ]
    for body, code, message in cases:
        reply = server.post("/run-task", json=body)
        assert reply.status_code == 502, reply.text
        error = reply.json()["error"]
        assert error["code"] == code and message in error["message"], error
    # The worker is still up; the failed label was not kept.
    assert server.post("/run-task", json=task("f-5", "echo", "ok")).json()["result"] == {"label": "ok"}
    assert "broken" not in server.get("/labels").json() or server.get("/labels").json()["broken"] == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_task_past_its_deadline_fails_and_sees_cancelled(server: Server, serve_worker, kind: str) -> None:
    worker = Worker(server.ws_url, worker_id=f"py-d-{kind}")
    deadlines: list[float | None] = []
    saw_cancel = threading.Event()

    if kind == "sync":

        @worker.task("slow")
        def slow(model: None, params: dict, ctx: TaskContext) -> dict:
            deadlines.append(ctx.deadline)
            end = time.monotonic() + 20
            while not ctx.cancelled and time.monotonic() < end:
                time.sleep(0.005)
            if ctx.cancelled:
                saw_cancel.set()
            return {}

    else:

        @worker.task("slow")
        async def slow(model: None, params: dict, ctx: TaskContext) -> dict:
            deadlines.append(ctx.deadline)
            try:
                await asyncio.sleep(20)
            finally:
                if ctx.cancelled:
                    saw_cancel.set()
            return {}

    serve_worker(worker)
    server.wait_workers(1)
    submitted = time.time()
    reply = server.post("/run-task", json=task("d-1", "slow", "l", deadline_ms=300))
    assert reply.status_code in (502, 504), reply.text
    assert "deadline" in reply.json()["error"]["message"], reply.text
    assert saw_cancel.wait(10)
    assert deadlines and deadlines[0] is not None and submitted < deadlines[0] < submitted + 5


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_slots_run_tasks_at_the_same_time(server: Server, serve_worker, kind: str) -> None:
    """Two tasks that each wait for the other: they finish only if they run at once."""
    worker = Worker(server.ws_url, worker_id=f"py-s-{kind}", slots=2)
    if kind == "sync":
        barrier = threading.Barrier(2, timeout=15)

        @worker.task("meet")
        def meet(model: None, params: dict, ctx: TaskContext) -> dict:
            return {"arrival": barrier.wait(), "thread": threading.current_thread().name}

    else:
        arrived: list[str] = []
        both = asyncio.Event()

        @worker.task("meet")
        async def meet(model: None, params: dict, ctx: TaskContext) -> dict:
            arrived.append(ctx.task_id)
            if len(arrived) == 2:
                both.set()
            await asyncio.wait_for(both.wait(), 15)
            return {"arrival": arrived.index(ctx.task_id)}

    serve_worker(worker)
    server.wait_workers(1)
    with ThreadPoolExecutor(2) as clients:
        replies = list(clients.map(lambda i: server.post("/run-task", json=task(f"s-{i}", "meet", "l")), range(2)))
    views = [r.json() for r in replies]
    assert [v["status"] for v in views] == ["completed", "completed"], views
    assert sorted(v["result"]["arrival"] for v in views) == [0, 1]
    if kind == "sync":
        assert views[0]["result"]["thread"] != views[1]["result"]["thread"]


def test_logs_reach_the_event_log(server: Server, serve_worker) -> None:
    worker = Worker(server.ws_url, worker_id="py-log")

    @worker.task("talk")
    def talk(model: None, params: dict, ctx: TaskContext) -> dict:
        ctx.log("warn", "hello from python", answer=42)
        return {}

    serve_worker(worker)
    server.wait_workers(1)
    assert server.post("/run-task", json=task("g-1", "talk", "l")).status_code == 200

    def logged() -> dict | None:
        for path in (server.workdir / "logs").glob("events*.jsonl"):
            for line in path.read_text().splitlines():
                if '"worker_log"' in line and "hello from python" in line:
                    return __import__("json").loads(line)
        return None

    record = wait_for(logged, what="the worker_log record")
    assert record["worker_id"] == "py-log" and record["level"] == "warn"
    assert record["fields"] == {"task_id": "g-1", "label": "l", "answer": "42"}
