#!/usr/bin/env python3
"""Plots the misses-against-latency frontier of `affinity` with the other systems.

Inputs: a `simulate --sweep ... --json` report (--sim), live multi-seed reports of the
same sweep (--live, files from bench/live-all.sh SEEDS=...; policies named
`affinity[KEY=V]` are the sweep's points, `original` is drawn as a point), and the
reference points given with --ref NAME=MISSES,P50,P99 (e.g. Ray Serve's). Two panels:
label misses against p99 and against p50. Live points are the mean over seeds, with a bar
from the lowest to the highest seed.
Example: bench/plot-frontier.py --sim sweep.json --live live/seeds/a-*.json \
    --ref "Ray Serve default=527,3.69,9.01" > frontier.svg
"""
import argparse
import json
import re
import statistics
from collections import defaultdict

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
W, H, ML, TOP = 400, 300, 60, 50


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sim", help="simulate --sweep --json report")
    p.add_argument("--live", nargs="*", default=[], help="live seeds reports")
    p.add_argument("--ref", action="append", default=[], help="NAME=MISSES,P50,P99")
    p.add_argument("--title", default="affinity's frontier against Ray Serve")
    p.add_argument("--default-value", help="the swept setting's value in untagged `affinity` results")
    args = p.parse_args()

    series = []  # (name, line?, [(label, misses, p50, p99, (lo,hi) p50, (lo,hi) p99)])
    if args.sim:
        with open(args.sim) as f:
            sim = json.load(f)
        key = sim["sweep"]["key"]
        pts = [(str(pt["value"]), pt["label_misses"], pt["latency_p50_s"], pt["latency_p99_s"], None, None)
               for pt in sim["sweep"]["points"]]
        series.append((f"affinity, simulated ({key})", True, pts))
        for name, r in sim["results"].items():
            if name == "original":
                series.append(("original, simulated", False,
                               [("", r["label_misses"], r["latency_p50_s"], r["latency_p99_s"], None, None)]))
    live = defaultdict(list)
    for path in args.live:
        with open(path) as f:
            for name, r in json.load(f)["results"].items():
                live[name].append(r)
    sweep_pts, others = [], []
    for name, rs in live.items():
        if name == "affinity" and args.default_value:
            name = f"affinity[default={args.default_value}]"
        m = re.fullmatch(r"affinity\[(\w+)=([^\]]+)\]", name)
        agg = lambda k: statistics.mean(r[k] for r in rs)
        span = lambda k: (min(r[k] for r in rs), max(r[k] for r in rs))
        pt = (m.group(2) if m else "", agg("label_misses"), agg("latency_p50_s"), agg("latency_p99_s"),
              span("latency_p50_s"), span("latency_p99_s"))
        if m:
            sweep_pts.append((float(m.group(2)), pt))
        else:
            others.append((f"{name}, live (mean of {len(rs)} seeds)", False, [pt]))
    if sweep_pts:
        sweep_pts.sort()
        series.append(("affinity, live (mean of seeds; bar: min-max)", True, [pt for _, pt in sweep_pts]))
    series.extend(others)
    for ref in args.ref:
        name, values = ref.split("=", 1)
        misses, p50, p99 = (float(v) for v in values.split(","))
        series.append((name, False, [("", misses, p50, p99, None, None)]))

    allpts = [pt for _, _, pts in series for pt in pts]
    xs = [pt[1] for pt in allpts] + [0.0]
    x0, x1 = min(xs), max(xs) * 1.08
    width, height = ML + 2 * (W + ML), TOP + H + 50 + 18 * len(series)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width / 2}" y="22" font-size="15" text-anchor="middle">{args.title}</text>']
    for i, (title, col, span_col) in enumerate([("p99 latency (s)", 3, 5), ("p50 latency (s)", 2, 4)]):
        left = ML + i * (W + ML)
        ys = [pt[col] for pt in allpts] + [v for pt in allpts if pt[span_col] for v in pt[span_col]]
        pad = (max(ys) - min(ys)) * 0.08 or 0.1
        y0, y1 = min(ys) - pad, max(ys) + pad
        sx = lambda v: left + (v - x0) / (x1 - x0) * W
        sy = lambda v: TOP + H - (v - y0) / (y1 - y0) * H
        out.append(f'<rect x="{left}" y="{TOP}" width="{W}" height="{H}" fill="none" stroke="#444"/>')
        out.append(f'<text x="{left + W / 2}" y="{TOP - 6}" text-anchor="middle">{title}</text>')
        out.append(f'<text x="{left + W / 2}" y="{TOP + H + 32}" text-anchor="middle">label misses</text>')
        for k in range(5):
            vx, vy = x0 + (x1 - x0) * k / 4, y0 + (y1 - y0) * k / 4
            out.append(f'<text x="{sx(vx):.1f}" y="{TOP + H + 15}" text-anchor="middle" fill="#444">{vx:.0f}</text>')
            out.append(f'<text x="{left - 5}" y="{sy(vy) + 4:.1f}" text-anchor="end" fill="#444">{vy:.2f}</text>')
        for s, (name, line, pts) in enumerate(series):
            c = COLOURS[s % len(COLOURS)]
            if line and len(pts) > 1:
                path = " ".join(f"{sx(pt[1]):.1f},{sy(pt[col]):.1f}" for pt in pts)
                out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
            for pt in pts:
                cx, cy = sx(pt[1]), sy(pt[col])
                if pt[span_col]:
                    lo, hi = pt[span_col]
                    out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{sy(lo):.1f}" y2="{sy(hi):.1f}" stroke="{c}"/>')
                shape = (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{c}"/>' if line or name.startswith(("affinity", "original"))
                         else f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{c}"/>')
                out.append(shape)
                if pt[0]:
                    out.append(f'<text x="{cx + 5:.1f}" y="{cy - 6:.1f}" font-size="10" fill="{c}">{pt[0]}</text>')
    for s, (name, _, _) in enumerate(series):
        y = TOP + H + 50 + 18 * s
        out.append(f'<circle cx="{ML + 5}" cy="{y - 4}" r="4" fill="{COLOURS[s % len(COLOURS)]}"/>'
                   f'<text x="{ML + 15}" y="{y}">{name}</text>')
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
