#!/usr/bin/env python3
"""Prints report JSON files (`simulate --json`, `bench --json`) as Markdown tables, one
per file, policies as columns: the tables of bench/results/README.md.
Usage: bench/md-table.py results/sim/*.json
"""
import json
import os
import sys

ORDER = ["affinity", "original", "random", "least-loaded", "live"]
ROWS = [
    ("Label misses", "label_misses", "{:.1f}"),
    ("Label loads (misses + preloads)", "loads", "{:.1f}"),
    ("Failed requests", "failed", "{:.0f}"),
    ("Average task runtime (s)", "mean_task_runtime_s", "{:.3f}"),
    ("Latency mean (s)", "latency_mean_s", "{:.3f}"),
    ("Latency p50 (s)", "latency_p50_s", "{:.3f}"),
    ("Latency p95 (s)", "latency_p95_s", "{:.3f}"),
    ("Latency p99 (s)", "latency_p99_s", "{:.3f}"),
    ("Makespan (s)", "makespan_s", "{:.0f}"),
    ("Throughput (req/s)", "throughput_per_s", "{:.3f}"),
]

for path in sys.argv[1:]:
    with open(path) as f:
        report = json.load(f)
    results = report["results"]
    names = [n for n in ORDER if n in results] + sorted(set(results) - set(ORDER))
    print(f"**{os.path.splitext(os.path.basename(path))[0]}** "
          f"({report['config'].get('requests', '?')} requests, "
          f"{report['config'].get('seeds', 1)} seed(s))\n")
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for label, key, fmt in ROWS:
        if not any(key in results[n] for n in names):
            continue
        cells = []
        for n in names:
            v = results[n].get(key)
            cell = "-" if v is None else fmt.format(v)
            cells.append(f"**{cell}**" if n == "affinity" else cell)
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
