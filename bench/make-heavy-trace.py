#!/usr/bin/env python3
"""Writes a heavy-tailed, serverless-like trace for `smart-routing simulate --trace`.

One hot label (`hot`) takes --hot-share of the traffic at a rate that swings up and down
(1 + --swing x sine, --cycles periods over the trace), so its copies must follow it; the
rest comes in bursts (mean --burst requests, 0.5 s apart on average) spread over --cold
cold labels with Zipf(1) popularity. Every label has its own median run time (log-uniform
between 20 ms and 3 s; 1 s for `hot`) and each task draws a log-normal run time around it
(sigma 1), clipped to 20 ms..--max-run (10 s); every label has a load time of 1-4 s (3 s for `hot`).
Lines carry `run_s` and `load_s`, so the replay runs exactly these times. With
--label-seed, the labels' run and load times come from that seed and the arrivals from
--seed: traces with the same --label-seed are other days of the same models.
Example: bench/make-heavy-trace.py --rate 5 --duration 1800 --cold 40 --seed 1 > heavy.jsonl
"""
import argparse
import json
import math
import random
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=5.0, help="mean arrivals per second")
    p.add_argument("--duration", type=float, default=1800.0, help="seconds of arrivals")
    p.add_argument("--cold", type=int, default=40, help="cold labels")
    p.add_argument("--hot-share", type=float, default=0.25, help="the hot label's share")
    p.add_argument("--swing", type=float, default=0.8, help="hot rate swing (0..1)")
    p.add_argument("--cycles", type=float, default=2.0, help="hot rate periods in the trace")
    p.add_argument("--burst", type=float, default=5.0, help="mean requests per cold burst")
    p.add_argument("--max-run", type=float, default=10.0, help="longest run time (s)")
    p.add_argument("--task-type", default="infer")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--label-seed", type=int, help="seed of the labels' times (default: --seed)")
    args = p.parse_args()
    rng = random.Random(args.seed)
    label_rng = rng if args.label_seed is None else random.Random(args.label_seed)

    labels = ["hot"] + [f"cold-{i + 1}" for i in range(args.cold)]
    median = {"hot": 1.0}
    load = {"hot": 3.0}
    for name in labels[1:]:
        median[name] = math.exp(label_rng.uniform(math.log(0.02), math.log(3.0)))
        load[name] = round(label_rng.uniform(1.0, 4.0), 3)

    def run_time(label: str) -> float:
        return round(min(args.max_run, max(0.02, rng.lognormvariate(math.log(median[label]), 1.0))), 4)

    events = []
    # The hot label: a Poisson process with a time-varying rate, by thinning.
    hot_mean = args.rate * args.hot_share
    peak = hot_mean * (1 + args.swing)
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t > args.duration:
            break
        rate = hot_mean * (1 + args.swing * math.sin(2 * math.pi * args.cycles * t / args.duration))
        if rng.random() < rate / peak:
            events.append((t, "hot"))
    # Cold labels: bursts at Poisson times, each for one Zipf-chosen label.
    weights = [1.0 / (i + 1) for i in range(args.cold)]
    burst_rate = args.rate * (1 - args.hot_share) / args.burst
    t = 0.0
    while True:
        t += rng.expovariate(burst_rate)
        if t > args.duration:
            break
        label = rng.choices(labels[1:], weights)[0]
        size = 1 + int(rng.expovariate(1 / max(args.burst - 1, 1e-9)))
        at = t
        for _ in range(size):
            events.append((at, label))
            at += rng.expovariate(2.0)
    events.sort()
    out = sys.stdout
    for at, label in events:
        if at > args.duration:
            continue
        entry = {
            "at_s": round(at, 4),
            "label": label,
            "task_type": args.task_type,
            "run_s": run_time(label),
            "load_s": load[label],
        }
        out.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
