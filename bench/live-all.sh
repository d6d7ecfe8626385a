#!/usr/bin/env bash
# Runs the live benchmark (bench/run-benchmark.sh) on the configurations of
# bench/results/README.md, every policy, at time scale 0.1, and writes
# bench/results/live/<config>.{json,txt} and bench/results/live.svg. Takes about 1.5 hours.
#   REQUESTS_SMALL  requests for configurations a-c [1200]   REQUESTS_LARGE  for d [4000]
#   ONLY  run only the configurations whose name starts with this (e.g. "a")
#   POLICY  the policies to run [all]; others already in live/<config>.json are kept
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
for entry in "${CONFIGS[@]}"; do
    name=${entry%%|*}
    if [[ -n "${ONLY:-}" && "$name" != ${ONLY}* ]]; then
        continue
    fi
    read -r -a flags <<< "${entry#*|}"
    policy=${POLICY:-all}
    echo "$name: bench/run-benchmark.sh --policy $policy --max-labels 2 --time-scale 0.1 ${flags[*]}" >&2
    bench/run-benchmark.sh --policy "$policy" --max-labels 2 --time-scale 0.1 "${flags[@]}" \
        --out "$OUT/logs-$name" --json > "$OUT/$name.new.json"
    # Merge: the policies just run replace their earlier results.
    python3 - "$OUT/$name.json" "$OUT/$name.new.json" <<'PY'
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
python3 bench/plot.py --title "Live, time scale 0.1 (original seconds)" "$OUT"/*.json > bench/results/live.svg
