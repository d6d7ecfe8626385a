#!/usr/bin/env python3
"""Chaos run against the real binary on loopback (stdlib only).

Starts a server and simulated workers, submits tasks (half /run-task, half /send-task)
while workers are killed -9 and restarted, the server is killed -9 and restarted on the
same data directory and port, and drained once with SIGTERM. Then accounts for every
task: accepted, completed, failed by code, lost (accepted but unknown or never final)
and duplicated (more than one final event for an id in the event log, or a /run-task
answered with a result different from the task's final one). Exits 1 unless lost = 0
and duplicated = 0.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, binary, port, root, workers, time_scale, slots):
        self.binary, self.port, self.root = binary, port, root
        self.worker_ids = [f"w-{i + 1}" for i in range(workers)]
        self.time_scale, self.slots = time_scale, slots
        self.server = None
        self.workers = {}
        self.lock = threading.Lock()
        self.server_up = threading.Event()
        self.log = open(os.path.join(root, "processes.log"), "ab")

    def start_server(self):
        self.server = subprocess.Popen(
            [self.binary, "serve", "--bind", f"127.0.0.1:{self.port}",
             "--log-dir", os.path.join(self.root, "logs"),
             "--data-dir", os.path.join(self.root, "data")],
            stdout=subprocess.PIPE, stderr=self.log,
            env={**os.environ, "RUST_LOG": "warn"})
        line = self.server.stdout.readline().decode()
        if not line.startswith("listening on"):
            raise SystemExit(f"server did not start: {line!r}")
        self.server_up.set()

    def start_worker(self, worker_id):
        self.workers[worker_id] = subprocess.Popen(
            [self.binary, "worker", "--dispatcher", f"ws://127.0.0.1:{self.port}/worker-listen",
             "--worker-id", worker_id, "--simulate", "--time-scale", str(self.time_scale),
             "--slots", str(self.slots), "--seed", str(random.randrange(1 << 30))],
            stdout=subprocess.DEVNULL, stderr=self.log, env={**os.environ, "RUST_LOG": "error"})

    def kill_server(self, sig):
        self.server_up.clear()
        self.server.send_signal(sig)
        code = self.server.wait(timeout=60)
        return code

    def stop(self):
        for proc in list(self.workers.values()) + [self.server]:
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()


def request(port, method, path, body=None, timeout=60):
    """(status, json body, headers) or raises OSError when the server is unreachable."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"content-type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, parsed, dict(response.getheaders())
    finally:
        conn.close()


FINAL = {"completed", "failed", "cancelled"}


class Client:
    """Submits one task and follows it to its final view, the way a careful client would:
    an unanswered submission is checked with GET before it is sent again."""

    def __init__(self, cluster, deadline):
        self.cluster, self.deadline = cluster, deadline
        self.lock = threading.Lock()
        self.accepted = set()
        self.answers = {}  # task_id -> final view answered by /run-task
        self.refusals = Counter()
        self.kept_at_drain = 0

    def port(self):
        return self.cluster.port

    def known(self, task_id):
        """The task's view, None if unknown (404); raises OSError when unreachable."""
        status, body, _ = request(self.port(), "GET", f"/tasks/{task_id}", timeout=10)
        return body if status == 200 else None

    def submit(self, task, wait):
        path = "/run-task" if wait else "/send-task"
        while time.time() < self.deadline:
            try:
                status, body, _ = request(self.port(), "POST", path, task, timeout=120)
            except OSError:
                # No answer: accepted or not? Ask once the server is back.
                if self.after_outage(task["task_id"]):
                    return
                continue
            if status in (200, 202, 409, 502, 504):
                with self.lock:
                    self.accepted.add(task["task_id"])
                    if wait and status != 202 and body and body.get("status") in FINAL:
                        self.answers[task["task_id"]] = body
                return
            code = (body or {}).get("error", {}).get("code", str(status))
            if code == "shutting_down" and wait and "is kept" in (body or {}).get("error", {}).get("message", ""):
                with self.lock:
                    self.accepted.add(task["task_id"])
                    self.kept_at_drain += 1
                return
            with self.lock:
                self.refusals[code] += 1
            time.sleep(0.2)  # not accepted (no worker yet, queue full, draining): retry

    def after_outage(self, task_id):
        while time.time() < self.deadline:
            self.cluster.server_up.wait(timeout=1)
            try:
                view = self.known(task_id)
            except OSError:
                time.sleep(0.2)
                continue
            if view is not None:
                with self.lock:
                    self.accepted.add(task_id)
                return True
            return False
        return True


def chaos(cluster, stop, args, report):
    start = time.time()
    plan = [(args.server_kill_at[0], "kill"), (args.server_kill_at[1], "kill"), (args.drain_at, "term")]
    next_worker_kill = start + random.uniform(3, 5)
    while not stop.is_set():
        now = time.time() - start
        if plan and now >= plan[0][0]:
            _, what = plan.pop(0)
            sig = signal.SIGKILL if what == "kill" else signal.SIGTERM
            began = time.time()
            code = cluster.kill_server(sig)
            report.append(f"t={now:5.1f}s server {'kill -9' if what == 'kill' else 'SIGTERM'} "
                          f"(exit {code}, {time.time() - began:.2f}s); restarted")
            cluster.start_server()
        if time.time() >= next_worker_kill:
            victim = random.choice(cluster.worker_ids)
            proc = cluster.workers[victim]
            proc.kill()
            proc.wait()
            cluster.start_worker(victim)
            report.append(f"t={now:5.1f}s worker {victim} kill -9; restarted")
            next_worker_kill = time.time() + random.uniform(3, 5)
        time.sleep(0.05)


def final_events(log_dir):
    finals = Counter()
    path = os.path.join(log_dir, "events.jsonl")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by kill -9
            if record.get("event") in ("task_completed", "task_failed", "task_cancelled"):
                finals[record.get("task_id")] += 1
    return finals


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=24.0, help="seconds of submitting")
    parser.add_argument("--server-kill-at", type=float, nargs=2, default=[5.0, 11.0])
    parser.add_argument("--drain-at", type=float, default=17.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)

    root = tempfile.mkdtemp(prefix="sr-chaos-")
    cluster = Cluster(args.binary, free_port(), root, args.workers, args.time_scale, args.slots)
    cluster.start_server()
    for worker_id in cluster.worker_ids:
        cluster.start_worker(worker_id)
    time.sleep(0.5)
    began = time.time()
    client = Client(cluster, began + args.timeout)
    tasks = [{"task_id": f"c-{i}", "task_type": random.choice(["sample_task_1", "sample_task_2"]),
              "label": f"label-{random.randrange(8)}", "parameters_json": "{}"}
             for i in range(args.tasks)]
    # Submissions spread over the run, so the faults land while tasks queue and run.
    pace = args.duration / args.tasks
    report, stop = [], threading.Event()
    chaos_thread = threading.Thread(target=chaos, args=(cluster, stop, args, report), daemon=True)
    chaos_thread.start()
    next_index = iter(range(args.tasks))
    index_lock = threading.Lock()

    def run_client():
        while True:
            with index_lock:
                i = next(next_index, None)
            if i is None:
                return
            delay = began + i * pace - time.time()
            if delay > 0:
                time.sleep(delay)
            client.submit(tasks[i], wait=(i % 2 == 0))

    threads = [threading.Thread(target=run_client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    chaos_thread.join()

    # Account: every accepted task must reach exactly one final result.
    views, lost = {}, []
    for task in tasks:
        task_id = task["task_id"]
        if task_id not in client.accepted:
            continue
        view = None
        while time.time() < began + args.timeout + 60:
            try:
                view = client.known(task_id)
            except OSError:
                time.sleep(0.2)
                continue
            if view is None or view.get("status") in FINAL:
                break
            time.sleep(0.1)
        if view is None or view.get("status") not in FINAL:
            lost.append(task_id)
        else:
            views[task_id] = view
    finals = final_events(os.path.join(root, "logs"))
    duplicated = sorted(t for t, n in finals.items() if n > 1)
    mismatched = sorted(t for t, answer in client.answers.items()
                        if t in views and (answer["status"], answer.get("result"), answer.get("error"))
                        != (views[t]["status"], views[t].get("result"), views[t].get("error")))
    elapsed = time.time() - began
    cluster.stop()

    by_code = Counter((v.get("error") or {}).get("code") for v in views.values() if v["status"] != "completed")
    completed = sum(1 for v in views.values() if v["status"] == "completed")
    print(f"chaos run: {args.tasks} tasks ({args.tasks // 2 + args.tasks % 2} /run-task, "
          f"{args.tasks // 2} /send-task), {args.workers} workers x {args.slots} slots, "
          f"time scale {args.time_scale}, {elapsed:.1f} s")
    for line in report:
        print("  " + line)
    print(f"accepted:   {len(client.accepted)}")
    print(f"completed:  {completed}")
    print(f"failed:     {sum(by_code.values())} {dict(by_code) if by_code else ''}")
    print(f"refused before acceptance (retried): {dict(client.refusals)}")
    print(f"/run-task answered 503 shutting_down at the drain, task kept: {client.kept_at_drain}")
    print(f"lost:       {len(lost)} {lost[:10] if lost else ''}")
    print(f"duplicated: {len(duplicated) + len(mismatched)} "
          f"(final events > 1: {duplicated[:10]}, /run-task answer != final view: {mismatched[:10]})")
    print(f"data: {root}")
    not_accepted = args.tasks - len(client.accepted)
    if not_accepted:
        print(f"never accepted before the timeout: {not_accepted}")
    ok = not lost and not duplicated and not mismatched and not_accepted == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
