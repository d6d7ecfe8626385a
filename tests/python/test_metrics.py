"""`/metrics` after tasks ran: valid for `promtool check metrics`, with the histograms,
the per-worker counters and the gauges; the label bound sums the rest under `_other`;
every query of the shipped Grafana dashboard names a metric the server exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, Server, start_server

GRAFANA = ROOT / "deploy" / "grafana" / "smart-routing.json"


def run(server: Server, task_id: str, label: str, task_type: str = "sample_task_1") -> int:
    body = {"task_id": task_id, "task_type": task_type, "label": label, "parameters_json": "{}"}
    return server.post("/run-task", json=body).status_code


def samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.fixture
def busy_server():
    srv = start_server(env={"SMART_ROUTING_METRICS_MAX_LABELS": "2"})
    try:
        srv.spawn_worker("--worker-id", "sim-1", "--simulate", "--time-scale", "0.01")
        srv.wait_workers(1)
        for i, label in enumerate(["label-1", "label-2", "label-3", "label-4", "label-1"]):
            assert run(srv, f"m-{i}", label) == 200
        assert run(srv, "m-bad", "label-1", task_type="no_such_type") == 503
        yield srv
    finally:
        srv.stop()


def test_promtool_accepts_the_exposition(busy_server: Server) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (apt-get install prometheus; .ci/run does)")
    reply = busy_server.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run([promtool, "check", "metrics"], input=reply.text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_histograms_counters_gauges_and_the_label_bound(busy_server: Server) -> None:
    s = samples(busy_server.get("/metrics").text)
    completed = 'label="label-1",status="completed"'
    assert s[f"smart_routing_task_latency_seconds_count{{{completed}}}"] == 2
    assert s[f'smart_routing_task_latency_seconds_bucket{{{completed},le="+Inf"}}'] == 2
    assert s[f"smart_routing_task_run_seconds_count{{{completed}}}"] == 2
    assert s[f"smart_routing_task_queue_wait_seconds_count{{{completed}}}"] == 2
    assert s[f"smart_routing_task_load_seconds_count{{{completed}}}"] >= 1  # its first run loaded it
    # Bound 2: label-1 and label-2 keep their series, label-3 and label-4 are summed.
    assert s['smart_routing_label_tasks_total{label="label-1"}'] == 2
    assert s['smart_routing_label_tasks_total{label="_other"}'] == 2
    assert not any('label="label-3"' in name for name in s)
    assert s['smart_routing_worker_tasks_total{worker_id="sim-1",status="completed"}'] == 5
    assert s['smart_routing_tasks_finished_total{status="completed"}'] == 5
    assert s["smart_routing_workers"] == 1
    assert s["smart_routing_tasks_queued"] == 0
    assert s["smart_routing_tasks_running"] == 0
    assert s["smart_routing_labels_loaded"] >= 1


def grafana_metric_names() -> set[str]:
    doc = json.loads(GRAFANA.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    assert exprs, "the dashboard has no queries"
    names = set()
    for expr in exprs:
        # Drop strings, label matchers, ranges and grouping clauses; what is left that is
        # not a function call or a number is a metric name.
        bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(?:by|without)\s*\([^)]*\)', " ", expr)
        names.update(re.findall(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()", bare))
    return names


def test_every_grafana_query_names_an_exported_metric(busy_server: Server) -> None:
    text = busy_server.get("/metrics").text
    exported = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            exported.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    names = grafana_metric_names()
    assert any(n.endswith("_bucket") for n in names), names
    missing = sorted(names - exported)
    assert missing == [], f"Grafana queries name metrics /metrics does not export: {missing}"
