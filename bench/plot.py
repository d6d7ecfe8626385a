#!/usr/bin/env python3
"""Draws label misses and latency per policy per configuration as one SVG (stdout).

Input: report JSON files of `smart-routing simulate --json` or `bench --json` (one per
configuration; the file name is the configuration's name). Plain Python, no plotting
library: a few rectangles and text.
Usage: bench/plot.py [--title T] results/sim/*.json > results/sim.svg
"""
import argparse
import json
import os
import sys
from html import escape

ORDER = ["affinity", "original", "random", "least-loaded", "live"]
COLORS = {
    "affinity": "#1b9e77",
    "original": "#d95f02",
    "random": "#7570b3",
    "least-loaded": "#e7298a",
    "live": "#66a61e",
}
PANELS = [
    ("Label misses (loads: outline)", "label_misses", "{:.0f}"),
    ("Mean latency, s (p99: tick)", "latency_mean_s", "{:.2f}"),
]
WIDTH, ROW_H, LEFT, PANEL_W, GAP, TOP = 960, 150, 150, 360, 50, 70


def bar_panel(out, x0, y0, results, names, key, fmt):
    peak = max(
        max(r[key], r.get("loads", 0) if key == "label_misses" else r.get("latency_p99_s", 0))
        for r in results.values()
    ) or 1.0
    bar_h = (ROW_H - 40) / len(names)
    for i, name in enumerate(names):
        r = results[name]
        y = y0 + 10 + i * bar_h
        w = PANEL_W * r[key] / peak
        color = COLORS.get(name, "#999")
        out.append(f'<rect x="{x0}" y="{y:.1f}" width="{w:.1f}" height="{bar_h * 0.8:.1f}" fill="{color}"/>')
        if key == "label_misses" and "loads" in r and r["loads"] > r[key]:
            lw = PANEL_W * r["loads"] / peak
            out.append(
                f'<rect x="{x0}" y="{y:.1f}" width="{lw:.1f}" height="{bar_h * 0.8:.1f}" '
                f'fill="none" stroke="{color}" stroke-dasharray="3,2"/>'
            )
        if key == "latency_mean_s" and "latency_p99_s" in r:
            px = x0 + PANEL_W * r["latency_p99_s"] / peak
            out.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{y:.1f}" y2="{y + bar_h * 0.8:.1f}" '
                f'stroke="#333" stroke-width="2"/>'
            )
        label = fmt.format(r[key])
        if key == "latency_mean_s" and "latency_p99_s" in r:
            label += f" (p99 {r['latency_p99_s']:.2f})"
        if key == "label_misses" and "loads" in r and r["loads"] > r[key]:
            label += f" ({r['loads']:.0f} loads)"
        out.append(
            f'<text x="{x0 + 4:.1f}" y="{y + bar_h * 0.6:.1f}" font-size="11" fill="#fff" '
            f'style="paint-order:stroke" stroke="{color}" stroke-width="3">{escape(label)}</text>'
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--title", default="")
    p.add_argument("reports", nargs="+")
    args = p.parse_args()
    rows = []
    for path in args.reports:
        with open(path) as f:
            report = json.load(f)
        name = os.path.splitext(os.path.basename(path))[0]
        rows.append((name, report["results"]))
    names = [n for n in ORDER if any(n in r for _, r in rows)]
    names += sorted({n for _, r in rows for n in r} - set(names))
    height = TOP + ROW_H * len(rows) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" viewBox="0 0 {WIDTH} {height}">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="10" y="22" font-size="16" font-weight="bold">{escape(args.title)}</text>',
    ]
    x = LEFT
    for name in names:
        out.append(f'<rect x="{x}" y="32" width="12" height="12" fill="{COLORS.get(name, "#999")}"/>')
        out.append(f'<text x="{x + 16}" y="43" font-size="12">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    for j, (title, _, _) in enumerate(PANELS):
        out.append(
            f'<text x="{LEFT + j * (PANEL_W + GAP)}" y="{TOP - 6}" font-size="12" '
            f'font-weight="bold">{escape(title)}</text>'
        )
    for i, (config, results) in enumerate(rows):
        y0 = TOP + i * ROW_H
        present = [n for n in names if n in results]
        out.append(f'<text x="10" y="{y0 + ROW_H / 2:.0f}" font-size="12">{escape(config)}</text>')
        out.append(f'<line x1="10" x2="{WIDTH - 10}" y1="{y0}" y2="{y0}" stroke="#ddd"/>')
        for j, (_, key, fmt) in enumerate(PANELS):
            bar_panel(out, LEFT + j * (PANEL_W + GAP), y0, results, present, key, fmt)
    out.append("</svg>")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
