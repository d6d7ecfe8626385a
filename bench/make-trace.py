#!/usr/bin/env python3
"""Writes an open-loop arrival trace for `smart-routing simulate --trace`.

Poisson arrivals at --rate per second for --duration seconds; labels drawn from a Zipf
law over --labels labels (exponent --zipf; 0 gives uniform), task types uniform.
Example: bench/make-trace.py --rate 1.5 --duration 1200 --labels 20 --zipf 1.1 > zipf.jsonl
"""
import argparse
import json
import random
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=1.0, help="arrivals per second")
    p.add_argument("--duration", type=float, default=600.0, help="seconds of arrivals")
    p.add_argument("--labels", type=int, default=20)
    p.add_argument("--zipf", type=float, default=1.0, help="popularity exponent")
    p.add_argument("--task-types", default="sample_task_1,sample_task_2")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = random.Random(args.seed)
    weights = [1.0 / (i + 1) ** args.zipf for i in range(args.labels)]
    types = args.task_types.split(",")
    t = 0.0
    out = sys.stdout
    while True:
        t += rng.expovariate(args.rate)
        if t > args.duration:
            break
        label = rng.choices(range(args.labels), weights)[0]
        entry = {"at_s": round(t, 4), "label": f"label-{label + 1}", "task_type": rng.choice(types)}
        out.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    main()
