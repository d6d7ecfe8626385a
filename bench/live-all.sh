#!/usr/bin/env bash
# Runs the live benchmark (bench/run-benchmark.sh) on the configurations of
# bench/results/README.md, every policy, at time scale 0.1, and writes
# bench/results/live/<config>.{json,txt} and bench/results/live.svg. Takes about 1.5 hours.
#   REQUESTS_SMALL  requests for configurations a-c [1200]   REQUESTS_LARGE  for d [4000]
#   ONLY  run only the configurations whose name starts with this (e.g. "a")
#   POLICY  the policies to run [all]; others already in live/<config>.json are kept
#   SEEDS   producer seeds, e.g. "1 2 3" [1]; seed N writes live/seeds/<config>-seed<N>.json
#           (seed 1 alone keeps writing live/<config>.json); bench/live-spread.py tables them
#   CONFIG  the servers' config file [config/default.toml]
#   TAG     appended to the policy names in the reports (e.g. "[patience_loads=4]")
#   BIN     the binary to run [builds target/release/smart-routing and runs a copy of it]
# Two runs may go at once (each server binds its own free port).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/live
mkdir -p "$OUT"
SMALL=${REQUESTS_SMALL:-1200}
LARGE=${REQUESTS_LARGE:-4000}
CONFIGS=(
    "a-w2-l4-wait0.75|--workers 2 --labels 4 --producers 2 --wait-avg 0.75 --wait-stddev 1.0 --requests $SMALL"
    "b-w2-l5-wait2.5|--workers 2 --labels 5 --producers 2 --wait-avg 2.5 --wait-stddev 1.0 --requests $SMALL"
    "c-w3-l8-wait3.0|--workers 3 --labels 8 --producers 2 --wait-avg 3.0 --wait-stddev 1.0 --requests $SMALL"
    "d-w8-l40-p16|--workers 8 --labels 40 --producers 16 --wait-avg 2.5 --wait-stddev 1.0 --requests $LARGE"
)
SEEDS=${SEEDS:-1}
if [[ -z "${BIN:-}" ]]; then
    # One binary for every seed: a rebuild during a long run must not switch code midway.
    cargo build --release --quiet
    bin_dir=$(mktemp -d "${TMPDIR:-/tmp}/smart-routing-live-bin.XXXXXX")
    trap 'rm -rf "$bin_dir"' EXIT
    BIN=$bin_dir/smart-routing
    cp target/release/smart-routing "$BIN"
fi
export BIN
for seed in $SEEDS; do
for entry in "${CONFIGS[@]}"; do
    name=${entry%%|*}
    if [[ -n "${ONLY:-}" && "$name" != ${ONLY}* ]]; then
        continue
    fi
    read -r -a flags <<< "${entry#*|}"
    policy=${POLICY:-all}
    if [[ "$SEEDS" == 1 ]]; then
        target="$OUT/$name.json"
    else
        mkdir -p "$OUT/seeds"
        target="$OUT/seeds/$name-seed$seed.json"
    fi
    echo "$name seed $seed: bench/run-benchmark.sh --policy $policy --max-labels 2 --time-scale 0.1 --seed $seed ${flags[*]}" >&2
    logs=$(mktemp -d "${TMPDIR:-/tmp}/smart-routing-live.XXXXXX")
    bench/run-benchmark.sh --policy "$policy" --max-labels 2 --time-scale 0.1 --seed "$seed" \
        "${flags[@]}" --out "$logs" --json > "$target.new.$$"
    mv "$target.new.$$" "$target.new.$$.json"
    # Merge: the policies just run replace their earlier results (locked: two runs at
    # once may share a target).
    flock "$OUT/.merge.lock" python3 - "$target" "$target.new.$$.json" <<'PY'
import json, os, sys
old_path, new_path = sys.argv[1], sys.argv[2]
with open(new_path) as f:
    new = json.load(f)
if os.path.exists(old_path):
    with open(old_path) as f:
        old = json.load(f)
    old["results"].update(new["results"])
    new["results"] = old["results"]
with open(old_path, "w") as f:
    json.dump(new, f, indent=2)
    f.write("\n")
os.remove(new_path)
PY
done
done
if [[ "$SEEDS" != 1 ]]; then
    exit 0
fi
python3 bench/plot.py --title "Live, time scale 0.1 (original seconds)" "$OUT"/*.json > bench/results/live.svg
