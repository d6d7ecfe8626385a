#!/usr/bin/env python3
"""One sick worker out of two, live: for each case, a fresh server, a healthy and a
misbehaving Python SDK worker (tests/python/workers/faulty.py, slots=2, max_labels=2),
and 8 clients sending /run-task tasks of 30 ms over 3 labels. Prints, per case, the tasks
that failed and their codes, the slowest answer, each worker's share, and whether a
worker was ejected; with --markdown, a table for bench/results/faults.md.

    python3 bench/faults.py --binary target/release/smart-routing [--tasks 400] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "python" / "workers" / "faulty.py"
LABELS = ["label-a", "label-b", "label-c"]
CLIENTS = 8

#: (case, FAULT of the second worker, share of bad-input tasks, tasks)
CASES = [
    ("raises in every task at once", "raise", 0.0, None),
    ("raises WorkerFault in every task", "fault", 0.0, None),
    ("raises in its loader for every label", "loader", 0.0, None),
    ("raises in 30% of its tasks", "flaky", 0.0, None),
    ("never finishes a task but keeps heartbeating", "hang", 0.0, 200),
    ("is 25x slower (control)", "slow", 0.0, None),
    ("is healthy, 20% of tasks are bad input", "none", 0.2, None),
]


def request(url: str, body: dict | None = None, timeout: float = 120.0) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def start_server(binary: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [binary, "serve", "--bind", "127.0.0.1:0", "--log-dir", str(workdir / "logs"),
         "--data-dir", str(workdir / "data")],
        stdout=subprocess.PIPE, text=True, cwd=workdir, env={**os.environ, "RUST_LOG": "error"},
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on http://"):
        proc.kill()
        raise SystemExit(f"unexpected first line from serve: {line!r}")
    return proc, line[len("listening on "):]


def start_worker(url: str, worker_id: str, fault: str) -> subprocess.Popen:
    ws = url.replace("http://", "ws://") + "/worker-listen"
    return subprocess.Popen(
        [sys.executable, "-m", "smart_routing_worker", f"{WORKER}:worker", "--dispatcher", ws,
         "--worker-id", worker_id, "--slots", "2", "--max-labels", "2"],
        env={**os.environ, "FAULT": fault}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def run_case(binary: str, fault: str, bad_share: float, tasks: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="sr-faults-"))
    server, url = start_server(binary, workdir)
    workers = [start_worker(url, "healthy", "none"), start_worker(url, "sick", fault)]
    try:
        deadline = time.monotonic() + 30
        while len(request(url + "/workers")[1].get("workers", [])) < 2:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not join")
            time.sleep(0.05)
        results: list[tuple[bool, int, str, float, str]] = []
        lock = threading.Lock()
        counter = iter(range(tasks))

        def client() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                bad = bad_share > 0 and i % round(1 / bad_share) == 0
                params = {"ms": 30, "bad": bad}
                body = {"task_id": f"t-{i}", "task_type": "work", "label": LABELS[i % len(LABELS)],
                        "parameters_json": json.dumps(params)}
                started = time.monotonic()
                status, view = request(url + "/run-task", body)
                took = time.monotonic() - started
                code = (view.get("error") or {}).get("code", "") if status != 200 else ""
                served = (view.get("result") or {}).get("worker", "") if status == 200 else ""
                with lock:
                    results.append((bad, status, code, took, served))

        started = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        health = request(url + "/workers/health")[1].get("workers", [])
        good = [r for r in results if not r[0]]
        bad = [r for r in results if r[0]]
        return {
            "tasks": len(results),
            "good_failed": sum(1 for r in good if r[1] != 200),
            "bad": len(bad),
            "bad_failed": sum(1 for r in bad if r[1] != 200),
            "codes": dict(Counter(r[2] for r in results if r[1] != 200)),
            "slowest_s": max((r[3] for r in results), default=0.0),
            "served": dict(Counter(r[4] for r in results if r[1] == 200)),
            "ejections": {w["worker_id"]: w["ejections"] for w in health},
            "wall_s": wall,
        }
    finally:
        for proc in [*workers, server]:
            proc.kill()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--only", help="run the cases whose FAULT is this (comma-separated)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for case, fault, bad_share, tasks in CASES:
        if only and fault not in only:
            continue
        r = run_case(str(Path(args.binary).resolve()), fault, bad_share, tasks or args.tasks)
        rows.append((case, fault, r))
        print(json.dumps({"case": case, **r}), file=sys.stderr)
    if args.markdown:
        print("| the second worker... | tasks failed | codes | slowest answer | served by healthy / sick | ejections of sick | wall |")
        print("|---|---|---|---|---|---|---|")
        for case, _, r in rows:
            failed = f"{r['good_failed']} of {r['tasks'] - r['bad']}"
            if r["bad"]:
                failed += f" good; {r['bad_failed']} of {r['bad']} bad"
            codes = ", ".join(f"{c} {n}" for c, n in sorted(r["codes"].items())) or "-"
            served = f"{r['served'].get('healthy', 0)} / {r['served'].get('sick', 0)}"
            print(f"| {case} | {failed} | {codes} | {r['slowest_s']:.2f} s | {served} | "
                  f"{r['ejections'].get('sick', 0)} (healthy: {r['ejections'].get('healthy', 0)}) | {r['wall_s']:.1f} s |")


if __name__ == "__main__":
    main()
