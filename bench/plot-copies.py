#!/usr/bin/env python3
"""Plots a `simulate --copies` CSV: the busiest label's arrivals per minute (its demand,
right axis) and, for one policy, its copies held and the planner's target (left axis).
Example: bench/plot-copies.py bench/results/sim/placement-copies.csv > placement.svg
"""
import argparse
import csv

W, H, ML, MR, TOP, BOTTOM = 640, 300, 50, 60, 40, 40


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv")
    p.add_argument("--policy", default="affinity")
    p.add_argument("--title", default="The hot label's copies follow its demand")
    args = p.parse_args()
    with open(args.csv) as f:
        rows = list(csv.DictReader(f))
    arrivals_key = next(k for k in rows[0] if k.endswith("_arrivals"))
    minutes = [int(r["minute"]) for r in rows]
    demand = [float(r[arrivals_key]) for r in rows]
    copies = [float(r[f"{args.policy}_copies"]) for r in rows]
    target = [float(r[f"{args.policy}_target"]) for r in rows]

    x_max = max(minutes) or 1
    left_max = max(copies + target + [1.0])
    right_max = max(demand + [1.0])
    x = lambda m: ML + (W - ML - MR) * m / x_max
    y_left = lambda v: TOP + (H - TOP - BOTTOM) * (1 - v / left_max)
    y_right = lambda v: TOP + (H - TOP - BOTTOM) * (1 - v / right_max)

    def line(values, y, colour, dash=""):
        points = " ".join(f"{x(m):.1f},{y(v):.1f}" for m, v in zip(minutes, values))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{extra} points="{points}"/>'

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13">{args.title}</text>',
           f'<line x1="{ML}" y1="{H - BOTTOM}" x2="{W - MR}" y2="{H - BOTTOM}" stroke="#333"/>',
           f'<line x1="{ML}" y1="{TOP}" x2="{ML}" y2="{H - BOTTOM}" stroke="#333"/>',
           f'<line x1="{W - MR}" y1="{TOP}" x2="{W - MR}" y2="{H - BOTTOM}" stroke="#333"/>']
    for i in range(5):
        v = left_max * i / 4
        out.append(f'<text x="{ML - 6}" y="{y_left(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
        d = right_max * i / 4
        out.append(f'<text x="{W - MR + 6}" y="{y_right(d) + 4:.1f}">{d:.0f}</text>')
    for m in range(0, x_max + 1, 5):
        out.append(f'<text x="{x(m):.1f}" y="{H - BOTTOM + 14}" text-anchor="middle">{m}</text>')
    out.append(f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">minute</text>')
    out.append(f'<text x="14" y="{H / 2}" transform="rotate(-90 14 {H / 2})" text-anchor="middle">copies</text>')
    out.append(f'<text x="{W - 14}" y="{H / 2}" transform="rotate(90 {W - 14} {H / 2})" text-anchor="middle">arrivals per minute</text>')
    out.append(line(demand, y_right, "#bbbbbb"))
    out.append(line(target, y_left, "#d62728", "5,3"))
    out.append(line(copies, y_left, "#1f77b4"))
    for i, (name, colour) in enumerate((("arrivals (right)", "#bbbbbb"), ("target copies", "#d62728"),
                                        ("copies held", "#1f77b4"))):
        out.append(f'<rect x="{ML + 10 + i * 150}" y="{TOP - 14}" width="12" height="4" fill="{colour}"/>')
        out.append(f'<text x="{ML + 26 + i * 150}" y="{TOP - 9}">{name}</text>')
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
