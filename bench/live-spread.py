#!/usr/bin/env python3
"""Tables the spread of multi-seed live runs (bench/live-all.sh with SEEDS).

Reads bench/results/live/seeds/<config>-seed<N>.json files given on the command line and
prints, per configuration and policy, each figure's mean ± standard deviation and
min / median / max over the seeds, as Markdown.
Example: bench/live-spread.py bench/results/live/seeds/a-w2-l4-wait0.75-seed*.json
"""
import json
import re
import statistics
import sys
from collections import defaultdict

FIGURES = [
    ("Label misses", "label_misses", "{:.0f}"),
    ("Latency mean (s)", "latency_mean_s", "{:.3f}"),
    ("Latency p50 (s)", "latency_p50_s", "{:.3f}"),
    ("Latency p99 (s)", "latency_p99_s", "{:.3f}"),
    ("Average task runtime (s)", "mean_task_runtime_s", "{:.3f}"),
]


def main() -> None:
    runs = defaultdict(lambda: defaultdict(dict))  # config -> policy -> seed -> result
    for path in sys.argv[1:]:
        m = re.search(r"([^/]+)-seed(\d+)\.json$", path)
        if not m:
            sys.exit(f"not a seeds file: {path}")
        with open(path) as f:
            report = json.load(f)
        for policy, result in report["results"].items():
            runs[m.group(1)][policy][int(m.group(2))] = result
    for config, policies in sorted(runs.items()):
        print(f"**{config}**\n")
        print("| policy | seeds | figure | mean ± sd | min / median / max |")
        print("|---|---|---|---|---|")
        for policy, by_seed in policies.items():
            seeds = ",".join(str(s) for s in sorted(by_seed))
            for name, key, fmt in FIGURES:
                values = [r[key] for r in by_seed.values() if key in r]
                if not values:
                    continue
                sd = statistics.stdev(values) if len(values) > 1 else 0.0
                spread = " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))
                print(f"| {policy} | {seeds} | {name} | {fmt.format(statistics.mean(values))} ± {fmt.format(sd)} | {spread} |")
        print()


if __name__ == "__main__":
    main()
