#!/usr/bin/env python3
"""What a static allocation chosen with hindsight achieves on a trace (a reference point
for `simulate`'s loads and latency, not a policy: it knows the whole trace in advance).

Every label gets at least one copy; the copies left in the budget go, one at a time, to
the label with the most work per copy in its busiest WINDOW seconds (--by peak) or over
the whole trace (--by total). Copies are placed on --workers one-slot workers holding at
most --max-labels labels each (the least-loaded worker with room first), loaded before
the first arrival and never evicted: loads = the budget. Each task then starts, in
arrival order, on the holder of its label that can start it first, and runs its trace
`run_s`. Prints, per budget, the loads, latency p50 / p99 / mean and the labels with more
than one copy.
Example: bench/static-oracle.py --workers 16 --max-labels 3 bench/results/sim/heavy-trace.jsonl
"""
import argparse
import collections
import json


def allocate(entries, labels, budget, by, window):
    work = collections.Counter()
    peak = collections.Counter()
    per_window = collections.Counter()
    for e in entries:
        work[e["label"]] += e["run_s"]
        per_window[(e["label"], int(e["at_s"] // window))] += e["run_s"]
    for (label, _), seconds in per_window.items():
        peak[label] = max(peak[label], seconds)
    weight = peak if by == "peak" else work
    copies = {label: 1 for label in labels}
    for _ in range(budget - len(labels)):
        label = max(labels, key=lambda l: (weight[l] / copies[l], l))
        copies[label] += 1
    return copies, work


def place(copies, work, workers, max_labels):
    assigned = [0.0] * workers
    held = [set() for _ in range(workers)]
    for label in sorted(copies, key=lambda l: (-work[l], l)):
        for _ in range(copies[label]):
            room = [w for w in range(workers) if len(held[w]) < max_labels and label not in held[w]]
            if not room:
                return None
            w = min(room, key=lambda w: (assigned[w], w))
            held[w].add(label)
            assigned[w] += work[label] / copies[label]
    holders = collections.defaultdict(list)
    for w, labels in enumerate(held):
        for label in labels:
            holders[label].append(w)
    return holders, assigned


def replay(entries, holders, assigned):
    free_at = collections.defaultdict(float)
    latencies = []
    for e in entries:
        w = min(holders[e["label"]], key=lambda w: (max(free_at[w], e["at_s"]), assigned[w], w))
        start = max(free_at[w], e["at_s"])
        free_at[w] = start + e["run_s"]
        latencies.append(free_at[w] - e["at_s"])
    latencies.sort()
    n = len(latencies)
    return latencies[n // 2], latencies[int(0.99 * n)], sum(latencies) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trace", help="JSONL with at_s, label and run_s per line")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--max-labels", type=int, default=3)
    p.add_argument("--by", choices=["peak", "total"], default="peak")
    p.add_argument("--window", type=float, default=10.0, help="seconds, for --by peak")
    p.add_argument("--budgets", default="", help="copy budgets, e.g. 32,40,48 [labels..slots]")
    args = p.parse_args()
    with open(args.trace) as f:
        entries = sorted((json.loads(line) for line in f if line.strip()), key=lambda e: e["at_s"])
    labels = sorted({e["label"] for e in entries})
    slots = args.workers * args.max_labels
    budgets = [int(b) for b in args.budgets.split(",") if b] or sorted(
        {len(labels), (len(labels) + slots) // 2, slots}
    )
    print(f"{len(entries)} tasks, {len(labels)} labels, {args.workers} workers x {args.max_labels} labels; copies by {args.by}")
    print(f"{'loads':>6} {'p50 s':>8} {'p99 s':>8} {'mean s':>8}  labels with more than one copy")
    for budget in budgets:
        if budget < len(labels) or budget > slots:
            print(f"{budget:>6}  (outside {len(labels)}..{slots})")
            continue
        copies, work = allocate(entries, labels, budget, args.by, args.window)
        placed = place(copies, work, args.workers, args.max_labels)
        if placed is None:
            print(f"{budget:>6}  (does not fit)")
            continue
        p50, p99, mean = replay(entries, *placed)
        extra = " ".join(f"{l}:{c}" for l, c in sorted(copies.items(), key=lambda kv: -kv[1]) if c > 1)
        print(f"{budget:>6} {p50:>8.3f} {p99:>8.3f} {mean:>8.3f}  {extra}")


if __name__ == "__main__":
    main()
