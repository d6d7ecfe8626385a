"""The SDK as a process: `python -m smart_routing_worker module:attribute` with overrides,
SIGTERM draining, reconnect after the server restarts, the worker token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT, WORKERS, Server, start_server
from sdk_helpers import in_background, wait_for

from smart_routing_worker import TaskContext, Worker, WorkerError



def gate_task(task_id: str, tmp: Path) -> dict:
    params = {"started": str(tmp / f"{task_id}.started"), "release": str(tmp / "release")}
    return {"task_id": task_id, "task_type": "gate", "label": "g", "parameters_json": json.dumps(params)}


def test_cli_overrides_the_worker_settings(server: Server) -> None:
    proc = server.spawn_sdk_worker("gated:worker", "--worker-id", "py-cli", "--slots", "3", "--max-labels", "1")
    assert server.wait_workers(1) == ["py-cli"]
    reply = server.post("/run-task", json={"task_id": "e", "task_type": "echo", "label": "x", "parameters_json": "[1]"})
    assert reply.json()["result"] == [1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_cli_refuses_a_bad_target() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "smart_routing_worker", "gated:nothing"], cwd=WORKERS, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "is not a smart_routing_worker.Worker" in bad.stderr


def test_sigterm_finishes_the_running_task_then_exits(server: Server, tmp_path: Path) -> None:
    proc = server.spawn_sdk_worker(str(WORKERS / "gated.py") + ":worker", "--worker-id", "py-term")
    server.wait_workers(1)
    reply: list = []
    client = threading.Thread(target=lambda: reply.append(server.post("/run-task", json=gate_task("s-1", tmp_path))))
    client.start()
    wait_for(lambda: (tmp_path / "s-1.started").exists(), what="the task to start")
    proc.send_signal(signal.SIGTERM)
    # Still serving its task: it has not exited and has not been told to stop the task.
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(0.3)
    (tmp_path / "release").touch()
    client.join(20)
    assert proc.wait(20) == 0
    view = reply[0].json()
    assert view["status"] == "completed" and view["worker"] == "py-term", view
    assert view["result"] == {"released": True, "cancelled": False}
    wait_for(lambda: server.get("/workers").json()["workers"] == [], what="the worker to leave")


def test_server_sigterm_drains_the_python_worker(tmp_path: Path) -> None:
    server = start_server()
    try:
        proc = server.spawn_sdk_worker("gated:worker", "--worker-id", "py-drain")
        server.wait_workers(1)
        reply: list = []
        client = threading.Thread(target=lambda: reply.append(server.post("/run-task", json=gate_task("d-1", tmp_path))))
        client.start()
        wait_for(lambda: (tmp_path / "d-1.started").exists(), what="the task to start")
        server.proc.send_signal(signal.SIGTERM)
        (tmp_path / "release").touch()
        client.join(20)
        assert reply[0].json()["status"] == "completed"
        assert proc.wait(20) == 0, "the worker exits once drained"
        assert server.proc.wait(20) == 0
    finally:
        server.stop()


def test_reconnects_after_the_server_restarts_and_keeps_its_labels() -> None:
    first = start_server()
    port = first.port
    worker = Worker(first.ws_url, worker_id="py-re")
    loads: list[str] = []

    @worker.loader
    def load(label: str) -> str:
        loads.append(label)
        return label

    @worker.task("echo")
    def echo(model: str, params: dict, ctx: TaskContext) -> dict:
        return {"model": model}

    background = in_background(worker)
    second = None
    try:
        first.wait_workers(1)
        body = {"task_id": "r-1", "task_type": "echo", "label": "m", "parameters_json": "{}"}
        assert first.post("/run-task", json=body).json()["label_miss"] is True
        first.stop()
        second = start_server(bind=f"127.0.0.1:{port}")
        assert second.wait_workers(1) == ["py-re"]
        # It registered with the label it still holds: a hit, no second load.
        assert second.get("/labels").json() == {"m": ["py-re"]}
        view = second.post("/run-task", json={**body, "task_id": "r-2"}).json()
        assert view["status"] == "completed" and view["label_miss"] is False, view
        assert loads == ["m"]
    finally:
        background.stop()
        if second is not None:
            second.stop()
        first.stop()


def test_the_worker_token_is_sent_and_a_wrong_one_is_an_error() -> None:
    server = start_server(env={"SMART_ROUTING_WORKER_TOKEN": "s3cret"})
    try:
        wrong = Worker(server.ws_url, worker_id="py-bad", token="nope")
        wrong.task("echo")(lambda model, params, ctx: params)
        with pytest.raises(WorkerError, match="401"):
            wrong.run()
        right = Worker(server.ws_url, worker_id="py-tok", token="s3cret")
        right.task("echo")(lambda model, params, ctx: params)
        background = in_background(right)
        try:
            assert server.wait_workers(1) == ["py-tok"]
        finally:
            background.stop()
    finally:
        server.stop()


def test_settings_the_server_would_refuse_are_refused_at_once() -> None:
    for kwargs in ({"slots": 0}, {"max_labels": 5000}, {"worker_id": ""}, {"worker_id": "é"}):
        with pytest.raises(ValueError):
            Worker("ws://127.0.0.1:1/worker-listen", **{"worker_id": "w", **kwargs})
    with pytest.raises(WorkerError, match="no task functions"):
        Worker("ws://127.0.0.1:1/worker-listen", worker_id="w").run()


def test_stop_before_run_makes_run_return_at_once() -> None:
    worker = Worker("ws://127.0.0.1:1/worker-listen", worker_id="w")  # nothing listens there
    worker.task("echo")(lambda model, params, ctx: params)
    worker.stop()
    background = in_background(worker)
    background.thread.join(10)
    assert not background.thread.is_alive() and background.error == []


def test_the_installed_sdk_is_the_source_in_python_src() -> None:
    """scripts/python-tests.sh reinstalls python/ every run: what is tested is the source."""
    import smart_routing_worker

    installed = Path(smart_routing_worker.__file__).parent
    source = ROOT / "python" / "src" / "smart_routing_worker"
    names = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert "py.typed" in names and "_pb/worker_pb2.py" in names
    for name in names:
        assert (installed / name).read_bytes() == (source / name).read_bytes(), f"{name} differs: reinstall python/"


def test_generated_protobuf_code_is_up_to_date() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "python" / "scripts" / "gen_proto.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


def test_rust_simulated_worker_accepts_time_scale_zero(server: Server) -> None:
    server.spawn_worker("--worker-id", "sim-0", "--simulate", "--time-scale", "0")
    server.wait_workers(1)
    body = {"task_id": "z", "task_type": "sample_task_2", "label": "l", "parameters_json": "{}"}
    assert server.post("/run-task", json=body).json()["status"] == "completed"
    refused = subprocess.run(
        [str(ROOT / "target" / "debug" / "smart-routing"), "worker", "--dispatcher", server.ws_url,
         "--worker-id", "neg", "--simulate", "--time-scale=-1"],
        capture_output=True, text=True, timeout=30, env={**os.environ, "RUST_LOG": "warn"},
    )
    assert refused.returncode != 0 and "--time-scale" in refused.stderr
