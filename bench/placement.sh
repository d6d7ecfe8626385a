#!/usr/bin/env bash
# The placement planner on heavy-tailed traffic (bench/results/README.md, "Placement"):
# two traces of 33 labels whose hot label carries about half the work, run times 20 ms to
# 80 s, on 16 and 12 workers of K=3. For each: the simulator's lower bound on loads, the
# static oracle's loads and latency with hindsight, every policy, and affinity with the
# planner following demand and with the fast path's patience raised. Markdown on stdout;
# the hot label's copies and target over time in bench/results/sim/placement-copies.csv.
#   SEEDS  seeds per run [20]      BIN  the binary [target/release/smart-routing]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-20}
BIN=${BIN:-target/release/smart-routing}
OUT=bench/results/sim
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [[ ! -x "$BIN" ]]; then
    cargo build --release --quiet
fi

# name|affinity's extra simulate flags
VARIANTS=(
    "affinity (default: targets shown, not followed)|"
    "follow_demand|--set placement_follow_demand=true"
    "follow_demand, spare_share 0|--set placement_follow_demand=true --set placement_spare_share=0"
    "follow_demand, patience at target 1.5|--set placement_follow_demand=true --set placement_patience_at_target_loads=1.5"
    "no planner, patience_loads 1.5|--set placement_interval_s=inf --set patience_loads=1.5"
    "no planner, patience_loads 3|--set placement_interval_s=inf --set patience_loads=3"
)

for seed in 1 3; do
    python3 bench/make-heavy-trace.py --rate 6.5 --duration 1800 --cold 32 --hot-share 0.3 \
        --max-run 80 --seed "$seed" > "$TMP/trace-$seed.jsonl"
done
for seed in 1 3; do
    for workers in 16 12; do
        trace="$TMP/trace-$seed.jsonl"
        run="$TMP/s$seed-w$workers"
        "$BIN" simulate --trace "$trace" --workers "$workers" --max-labels 3 --policy all \
            --seeds "$SEEDS" --json > "$run-all.json"
        for i in "${!VARIANTS[@]}"; do
            read -r -a flags <<< "${VARIANTS[$i]#*|}"
            "$BIN" simulate --trace "$trace" --workers "$workers" --max-labels 3 \
                --policy affinity --seeds "$SEEDS" --json "${flags[@]}" > "$run-v$i.json"
        done
        python3 bench/static-oracle.py --workers "$workers" --max-labels 3 --by total \
            --budgets $((workers * 3)) "$trace" | tail -n 1 > "$run-oracle.txt"
    done
done
"$BIN" simulate --trace "$TMP/trace-1.jsonl" --workers 16 --max-labels 3 --policy affinity \
    --set placement_follow_demand=true --copies "$OUT/placement-copies.csv" > /dev/null

python3 - "$TMP" "$SEEDS" "${VARIANTS[@]}" <<'EOF'
import json
import sys

tmp, seeds, variants = sys.argv[1], sys.argv[2], [v.split("|")[0] for v in sys.argv[3:]]
configs = [(seed, name, workers) for workers in (16, 12) for seed, name in ((1, "A"), (3, "B"))]
rows = {"lower bound (loads)": [], "static oracle, hindsight": [], "best other policy": []}
rows.update({v: [] for v in variants})
for seed, name, workers in configs:
    run = f"{tmp}/s{seed}-w{workers}"
    every = json.load(open(f"{run}-all.json"))
    bound = every["config"]["loads_lower_bound"]

    def cell(r):
        return f"{r['loads']:.0f} ({r['loads'] / bound:.1f}x) / {r['latency_mean_s']:.2f} / {r['latency_p99_s']:.2f}"

    rows["lower bound (loads)"].append(str(bound))
    loads, _, p99, mean = open(f"{run}-oracle.txt").read().split()[:4]
    rows["static oracle, hindsight"].append(f"{loads} ({int(loads) / bound:.1f}x) / {float(mean):.2f} / {float(p99):.2f}")
    others = {p: r for p, r in every["results"].items() if p != "affinity"}
    best = min(others, key=lambda p: others[p]["latency_mean_s"])
    rows["best other policy"].append(f"{best}: {cell(others[best])}")
    for i, v in enumerate(variants):
        rows[v].append(cell(json.load(open(f"{run}-v{i}.json"))["results"]["affinity"]))
print(f"Mean of {seeds} seeds; each cell: loads (x the lower bound) / latency mean s / p99 s.\n")
print("| | " + " | ".join(f"{n} W{w} K3" for _, n, w in configs) + " |")
print("|---" * (1 + len(configs)) + "|")
for name, cells in rows.items():
    print(f"| {name} | " + " | ".join(cells) + " |")
EOF
