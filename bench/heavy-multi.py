#!/usr/bin/env python3
"""Affinity on several traces of the heavy-tailed generator at once: its loads against the
simulator's lower bound, and whether its p99 beats every other policy's, trace by trace
and summed. One trace is one draw of bursts and run times, and affinity's loads on one
trace move by a third with small changes; the sum over traces is the figure to compare.

    bench/heavy-multi.py [--traces 1-8] [--workers 16] [--max-labels 3] [--bin PATH] [-- FLAGS]

FLAGS go to `simulate` for every policy, e.g. `-- --set patience_loads=3`. Traces come
from `bench/make-heavy-trace.py --rate 5 --duration 1800 --cold 24 --seed N`, simulated
with 16 workers and K=3 unless told otherwise, one simulator seed each (a trace fixes
every arrival).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def seeds(text):
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=seeds, default=seeds("1-8"), help="seeds, e.g. 1-8")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--max-labels", type=int, default=3, help="K")
    parser.add_argument(
        "--bin", default=os.path.join(HERE, "..", "target", "release", "smart-routing"))
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="-- then flags for simulate")
    args = parser.parse_args()
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"heavy-multi.py: no binary at {args.bin} (cargo build --release)")
    total_loads = total_bound = wins = 0
    print(f"{'trace':>5} {'loads':>6} {'bound':>5} {'x':>5} {'p99 s':>7}"
          f" {'best other p99 s':>17}  best p99")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.traces:
            trace = os.path.join(tmp, f"heavy-{seed}.jsonl")
            with open(trace, "w") as out:
                subprocess.run(
                    [sys.executable, os.path.join(HERE, "make-heavy-trace.py"), "--rate", "5",
                     "--duration", "1800", "--cold", "24", "--seed", str(seed)],
                    stdout=out, check=True)
            run = subprocess.run(
                [args.bin, "simulate", "--workers", str(args.workers),
                 "--max-labels", str(args.max_labels), "--trace", trace,
                 "--policy", "all", "--json", *flags],
                capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"heavy-multi.py: simulate failed on trace {seed}: {run.stderr.strip()}")
            report = json.loads(run.stdout)
            bound = int(report["config"]["loads_lower_bound"])
            results = report["results"]
            mine = results.pop("affinity")
            other = min(r["latency_p99_s"] for r in results.values())
            best = mine["latency_p99_s"] < other
            loads = mine["loads"]
            total_loads, total_bound, wins = total_loads + loads, total_bound + bound, wins + best
            print(f"{seed:>5} {loads:>6} {bound:>5} {loads / bound:>5.1f}"
                  f" {mine['latency_p99_s']:>7.3f} {other:>17.3f}  {'yes' if best else 'no'}")
    print(f"{'all':>5} {total_loads:>6} {total_bound:>5} {total_loads / total_bound:>5.2f}"
          f"   best p99 on {wins} of {len(args.traces)} traces")


if __name__ == "__main__":
    main()
