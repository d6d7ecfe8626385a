#!/usr/bin/env bash
# Two builds side by side in one run, for a change that should move the cost of a task:
# each round runs, for build A then build B, the ceiling (examples/ceiling.rs, 4 echo
# peers), no-op /run-task with the store off and on (os) under wrk, and open-loop
# `bench --rate` (store on, os) at 50% and 90% of RATE. Every row has a fresh server with
# four no-op workers (bench/servers.sh). Alternating A and B within each round lets
# a shared, noisy machine weigh on both alike; the medians over the rounds come last.
#
#   bench/ab.sh DIR_A DIR_B RATE [rounds, default 3] [seconds per row, default 8]
# DIR_A, DIR_B: folders holding the smart-routing and ceiling binaries of each build
# (copies of target/release/smart-routing and target/release/examples/ceiling).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DIR_A="${1:?usage: bench/ab.sh DIR_A DIR_B RATE [rounds] [seconds]}"
DIR_B="${2:?usage: bench/ab.sh DIR_A DIR_B RATE [rounds] [seconds]}"
RATE="${3:?usage: bench/ab.sh DIR_A DIR_B RATE [rounds] [seconds]}"
ROUNDS="${4:-3}"
DURATION="${5:-8}"
CONNECTIONS=64
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
WORK="$(mktemp -d)"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

ceiling() { # ceiling DIR -> the wrk row of the ceiling built in DIR
  start_ceiling "$1/ceiling"
  wrk_row ceiling "$URL" /run-task
  stop_ceiling
}

open_loop() { # open_loop RATE -> rate|completed/s|p50|p99|p99.9 of the added latency, ms
  start os
  "$BIN" bench --url "$URL" --rate "$1" --duration "$DURATION" --labels 1 \
    --task-types sample_task_1 --json > "$WORK/open.json"
  stop
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); a = r["added"]
print("%.0f|%.0f|%.2f|%.2f|%.2f" % (r["rate_per_s"], r["completed_per_s"], a["p50_ms"], a["p99_ms"], a["p999_ms"]))
' "$WORK/open.json"
}

echo "bench/ab.sh: A=$DIR_A B=$DIR_B; wrk -t2 -c$CONNECTIONS -d${DURATION}s; open loop at $(( RATE / 2 )) and $(( RATE * 9 / 10 ))/s (50%, 90% of $RATE); $ROUNDS rounds; $(nproc) cores; $(date -u +%FT%TZ)"
echo
echo "| round | build | load avg | ceiling/s | store off /run-task/s | store on (os) /run-task/s | on/off | on/ceiling | 50%: added p50 / p99 / p99.9 ms | 90%: completed/s, added p50 / p99 / p99.9 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for build in A B; do
    dir="$DIR_A"
    [ "$build" = B ] && dir="$DIR_B"
    BIN="$dir/smart-routing"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    c="$(ceiling "$dir" | cut -d'|' -f3)"
    start off; off="$(wrk_row off "$URL" /run-task | cut -d'|' -f3)"; stop
    start os; on="$(wrk_row os "$URL" /run-task | cut -d'|' -f3)"; stop
    IFS='|' read -r _ _ h50 h99 h999 <<<"$(open_loop $(( RATE / 2 )))"
    IFS='|' read -r _ done90 n50 n99 n999 <<<"$(open_loop $(( RATE * 9 / 10 )))"
    ratios="$(awk -v on="$on" -v off="$off" -v c="$c" 'BEGIN {printf "%.2f|%.2f", on / off, on / c}')"
    echo "| $round | $build | $load | $c | $off | $on | ${ratios%|*} | ${ratios#*|} | $h50 / $h99 / $h999 | $done90, $n50 / $n99 / $n999 |" | tee -a "$WORK/rows.md"
  done
done
echo
echo "Medians over the rounds:"
echo
python3 - "$WORK/rows.md" <<'EOF'
import statistics, sys
cols = ["ceiling/s", "off/s", "on (os)/s", "on/off", "on/ceiling", "50% p50", "50% p99", "50% p99.9",
        "90% completed/s", "90% p50", "90% p99", "90% p99.9"]
by = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    nums = cells[3:8] + cells[8].split(" / ") + [cells[9].split(",")[0]] + cells[9].split(", ")[1].split(" / ")
    by.setdefault(cells[1], []).append([float(x) for x in nums])
print("| build | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for build, rows in sorted(by.items()):
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"| {build} | " + " | ".join(f"{v:.2f}" if v < 100 else f"{v:.0f}" for v in med) + " |")
EOF
