"""One misbehaving worker must not fail the pool: the real binary with two real SDK
worker processes (tests/python/workers/faulty.py), one of them sick, and clients on
/run-task. Outcomes are counted, never timed."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from conftest import Server, start_server
from sdk_helpers import wait_for

WORKER = Path(__file__).resolve().parent / "workers" / "faulty.py"
LABELS = ["label-a", "label-b", "label-c"]


def spawn(server: Server, worker_id: str, fault: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "smart_routing_worker", f"{WORKER}:worker", "--dispatcher", server.ws_url,
         "--worker-id", worker_id, "--slots", "2", "--max-labels", "2"],
        env={**__import__("os").environ, "FAULT": fault},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.procs.append(proc)
    return proc


def pool(server: Server, sick: str, healthy: str = "none") -> None:
    spawn(server, "healthy", healthy)
    spawn(server, "sick", sick)
    server.wait_workers(2)


def run(server: Server, i: int, bad: bool = False) -> requests.Response:
    body = {"task_id": f"t-{i}", "task_type": "work", "label": LABELS[i % 3],
            "parameters_json": json.dumps({"ms": 30, "bad": bad})}
    return server.post("/run-task", json=body, timeout=120)


def run_all(server: Server, n: int, bad_every: int = 0) -> list[requests.Response]:
    with ThreadPoolExecutor(8) as clients:
        return list(clients.map(lambda i: run(server, i, bad_every > 0 and i % bad_every == 0), range(n)))


def health(server: Server) -> dict[str, dict]:
    return {w["worker_id"]: w for w in server.get("/workers/health").json()["workers"]}


def test_a_worker_failing_every_task_is_ejected_and_almost_no_task_fails(server: Server) -> None:
    pool(server, "raise")
    answers = run_all(server, 200)
    failed = [a for a in answers if a.status_code != 200]
    assert len(failed) <= 2, [a.json() for a in failed]
    state = health(server)
    assert state["sick"]["state"] == "ejected"
    assert state["sick"]["ejections"] >= 1
    assert state["healthy"]["state"] == "healthy" and state["healthy"]["ejections"] == 0
    # GET /workers keeps the original shape.
    assert sorted(server.get("/workers").json()["workers"]) == ["healthy", "sick"]
    metrics = server.get("/metrics").text
    assert 'smart_routing_worker_ejected{worker_id="sick"} 1' in metrics
    assert 'smart_routing_worker_ejected{worker_id="healthy"}' not in metrics
    assert "smart_routing_task_retries_total" in metrics
    events = [json.loads(line) for line in (server.workdir / "logs" / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "worker_ejected" and e["worker_id"] == "sick" for e in events)
    retried = [e for e in events if e["event"] == "task_retried"]
    assert retried and all(e["worker_id"] == "sick" for e in retried)
    assert retried[0]["error"]["message"].startswith("RuntimeError: CUDA error")


def test_a_worker_saying_it_is_broken_is_ejected(server: Server) -> None:
    pool(server, "fault")
    answers = run_all(server, 120)
    assert sum(a.status_code != 200 for a in answers) <= 1
    assert health(server)["sick"]["state"] == "ejected"


def test_a_worker_whose_loader_fails_fails_no_task_and_backs_off_its_labels(server: Server) -> None:
    pool(server, "loader")
    answers = run_all(server, 200)
    assert [a.json() for a in answers if a.status_code != 200] == []
    assert all(a.json()["result"]["worker"] == "healthy" for a in answers)
    state = health(server)["sick"]
    assert state["state"] == "healthy", "a failed load is the label's trouble, not an ejection"
    assert {b["label"] for b in state["load_backoff"]} <= set(LABELS)


def test_a_label_no_worker_can_load_fails_with_load_failed() -> None:
    server = start_server()
    try:
        pool(server, "loader", healthy="loader")
        answer = run(server, 1)
        assert answer.status_code == 502
        view = answer.json()
        assert view["status"] == "failed"
        assert view["error"]["code"] == "load_failed"
        assert "label-b" in view["error"]["message"]
    finally:
        server.stop()


def test_a_hung_worker_does_not_hang_its_clients() -> None:
    # A low floor keeps the test short; stuck detection itself is what is tested.
    server = start_server(env={"SMART_ROUTING_HEALTH_STUCK_FLOOR_S": "2"})
    try:
        pool(server, "hang")
        answers = run_all(server, 120)
        assert [a.json() for a in answers if a.status_code != 200] == []
        assert all(a.json()["result"]["worker"] == "healthy" for a in answers)
    finally:
        server.stop()


def test_bad_input_fails_after_two_attempts_and_ejects_no_one(server: Server) -> None:
    pool(server, "none")
    answers = run_all(server, 200, bad_every=5)
    for i, answer in enumerate(answers):
        if i % 5 == 0:
            assert answer.status_code == 502
            view = answer.json()
            assert view["error"]["code"] == "task_failed"
            assert view["attempts"] <= 2
        else:
            assert answer.status_code == 200, answer.json()
    state = health(server)
    assert state["healthy"]["ejections"] == 0 and state["sick"]["ejections"] == 0


def test_at_most_half_the_pool_is_ejected() -> None:
    server = start_server()
    try:
        pool(server, "fault", healthy="fault")
        answers = run_all(server, 60)
        assert all(a.status_code == 502 for a in answers)
        assert {a.json()["error"]["code"] for a in answers} == {"worker_fault"}
        wait_for(lambda: any(w["state"] == "ejected" for w in health(server).values()), what="an ejection")
        states = [w["state"] for w in health(server).values()]
        assert states.count("ejected") == 1, states
    finally:
        server.stop()
