"""`GET /dashboard/state`, the JSON the dashboard draws: workers with slots and labels,
the queue history, per-label counts and percentiles, and the cap on listed labels."""

from __future__ import annotations

import time

from conftest import Server


def test_state_lists_workers_queue_labels_and_caps_the_label_list(server: Server) -> None:
    server.spawn_worker("--worker-id", "sim-1", "--simulate", "--time-scale", "0.005", "--slots", "4", "--max-labels", "3")
    server.wait_workers(1)
    for i in range(55):
        label = "hot" if i < 5 else f"cold-{i}"
        body = {"task_id": f"s-{i}", "task_type": "sample_task_1", "label": label, "parameters_json": "{}"}
        assert server.post("/run-task", json=body).status_code == 200
    time.sleep(1.1)  # one more queue sample
    state = server.get("/dashboard/state").json()

    [worker] = state["workers"]
    assert worker["worker_id"] == "sim-1" and worker["kind"] == "remote"
    assert (worker["slots"], worker["busy"]) == (4, 0)
    assert 1 <= len(worker["loaded"]) <= 3 and worker["loading"] == []
    assert state["queued"] == 0 and state["running"] == 0
    assert len(state["queue_history"]) >= 1
    assert all(set(s) == {"unix_ms", "queued", "running"} for s in state["queue_history"])

    assert state["labels_total"] == 51
    assert len(state["labels"]) == 50
    hot = state["labels"][0]  # busiest first
    assert hot["label"] == "hot" and hot["requests"] == 5 and hot["misses"] >= 1
    assert hot["hit_rate"] == 1 - hot["misses"] / 5
    latency = hot["latency"]
    assert latency["count"] == 5 and 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert any(e.get("event") == "task_completed" for e in state["events"])
