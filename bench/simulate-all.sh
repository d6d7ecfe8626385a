#!/usr/bin/env bash
# Runs every simulated benchmark configuration of bench/results/README.md, every policy,
# averaged over SEEDS seeds, and writes bench/results/sim/<config>.{json,txt} and the plot
# bench/results/sim.svg. Deterministic: the same binary gives the same files.
#   SEEDS  seeds per policy [20]      BIN  the binary [target/release/smart-routing]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-20}
BIN=${BIN:-target/release/smart-routing}
OUT=bench/results/sim
mkdir -p "$OUT"
if [[ ! -x "$BIN" ]]; then
    cargo build --release --quiet
fi

# name|flags (K=2 and one slot per worker everywhere)
CONFIGS=(
    "a-w2-l4-wait0.75|--workers 2 --labels 4 --producers 2 --wait-avg 0.75 --wait-stddev 1.0 --requests 2400"
    "b-w2-l5-wait2.5|--workers 2 --labels 5 --producers 2 --wait-avg 2.5 --wait-stddev 1.0 --requests 2400"
    "c-w3-l8-wait3.0|--workers 3 --labels 8 --producers 2 --wait-avg 3.0 --wait-stddev 1.0 --requests 2400"
    "d-w8-l40-p16|--workers 8 --labels 40 --producers 16 --wait-avg 2.5 --wait-stddev 1.0 --requests 4000"
)
trace="$OUT/zipf-trace.jsonl"
python3 bench/make-trace.py --rate 1.5 --duration 1600 --labels 20 --zipf 1.1 --seed 7 > "$trace"
CONFIGS+=("e-w8-zipf20-open|--workers 8 --trace $trace")
# Heavy-tailed, serverless-like: a hot label with a quarter of the traffic swinging up and
# down, 24 bursty cold labels, run times 20 ms..10 s; 16 workers holding K=3 labels.
heavy="$OUT/heavy-trace.jsonl"
python3 bench/make-heavy-trace.py --rate 5 --duration 1800 --cold 24 --seed 1 > "$heavy"
CONFIGS+=("f-w16-k3-heavy|--workers 16 --trace $heavy --max-labels 3")

for entry in "${CONFIGS[@]}"; do
    name=${entry%%|*}
    read -r -a flags <<< "${entry#*|}"
    echo "$name: smart-routing simulate ${flags[*]} --seeds $SEEDS" >&2
    [[ " ${flags[*]} " == *" --max-labels "* ]] || flags+=(--max-labels 2)
    "$BIN" simulate "${flags[@]}" --policy all --seeds "$SEEDS" --json > "$OUT/$name.json"
    "$BIN" simulate "${flags[@]}" --policy all --seeds "$SEEDS" > "$OUT/$name.txt"
done
# How the hot label's copies follow its demand (seed 1), and the frontier of (f).
"$BIN" simulate --workers 16 --max-labels 3 --trace "$heavy" --policy all \
    --copies "$OUT/f-w16-k3-heavy-copies.csv" > /dev/null
"$BIN" simulate --workers 16 --max-labels 3 --trace "$heavy" --policy all --seeds "$SEEDS" \
    --sweep patience_loads=0.75,1.5,2,3,4,5,10 > "$OUT/f-w16-k3-heavy-sweep.txt"
# Affinity on eight traces of the same generator, at the default and at patience_loads 3.
{
    echo "# default"
    python3 bench/heavy-multi.py --bin "$BIN"
    echo "# --set patience_loads=3"
    python3 bench/heavy-multi.py --bin "$BIN" -- --set patience_loads=3
} > "$OUT/f-heavy-multi.txt"
# What a static allocation chosen with hindsight achieves on (f): a reference point.
python3 bench/static-oracle.py --workers 16 --max-labels 3 --budgets 32,40,48 "$heavy" \
    > "$OUT/f-w16-k3-heavy-oracle.txt"
python3 bench/plot.py --title "Simulated, mean of $SEEDS seeds" "$OUT"/*.json > bench/results/sim.svg
echo "wrote $OUT/*.json, $OUT/*.txt and bench/results/sim.svg" >&2
