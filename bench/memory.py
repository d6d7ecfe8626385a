#!/usr/bin/env python3
"""Server memory with many labels and many retained tasks (loopback only).

Submits TASKS tasks over LABELS distinct labels with /send-task to a running server
with fast simulated workers, waits until every task is final (so all are retained),
and prints the server's RSS and the sizes of /metrics and /labels/stats at each step.
Then waits LABEL_IDLE_S + 2 seconds and prints them again, once idle labels are forgotten.

Usage: memory.py URL PID TASKS LABELS LABEL_IDLE_S
"""

import http.client
import json
import sys
import threading
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def get(url, path):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def submit(url, ids, labels, failures):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    for i in ids:
        body = json.dumps({
            "task_id": f"m-{i}",
            "task_type": "sample_task_1",
            "label": f"label-{i % labels}",
            "parameters_json": "{}",
        })
        for _ in range(100):
            conn.request("POST", "/send-task", body, {"content-type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status == 202:
                break
            if response.status != 503:  # queue full: retry shortly
                failures.append(response.status)
                break
            time.sleep(0.05)
    conn.close()


def snapshot(url, pid, what):
    _, metrics = get(url, "/metrics")
    _, stats = get(url, "/labels/stats")
    finished = sum(
        float(line.split()[-1])
        for line in metrics.decode().splitlines()
        if line.startswith("smart_routing_tasks_finished_total{")
    )
    print(
        f"| {what} | {rss_kib(pid) / 1024:.1f} | {len(metrics) / 1024:.0f} | "
        f"{len(stats) / 1024:.0f} | {len(json.loads(stats))} | {finished:.0f} |",
        flush=True,
    )
    return finished


def main():
    url, pid = sys.argv[1], int(sys.argv[2])
    tasks, labels, idle_s = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    print("| when | server RSS (MiB) | /metrics (KiB) | /labels/stats (KiB) | labels with stats | tasks finished |")
    print("| --- | --- | --- | --- | --- | --- |")
    snapshot(url, pid, "idle, workers connected")
    failures = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=submit, args=(url, range(k, tasks, 8), labels, failures))
        for k in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while snapshot(url, pid, "waiting for the last results") < tasks:
        time.sleep(2)
    elapsed = time.monotonic() - started
    snapshot(url, pid, f"{tasks} tasks retained, {labels} labels")
    time.sleep(idle_s + 2)
    snapshot(url, pid, f"after label_idle_s ({idle_s:.0f} s)")
    print(f"\nsubmitted {tasks} tasks in {elapsed:.1f} s; refused: {len(failures)}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
