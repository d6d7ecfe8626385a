#!/usr/bin/env bash
# Open-loop latency of no-op /run-task with the store on (durability os): Poisson arrivals
# at 25/50/75/90% of a maximum rate (`smart-routing bench --rate`, latency from each
# request's intended send time, no coordinated omission), a fresh server with four no-op
# workers per rate. "added" is the latency less the worker's reported load and run time.
# The load generator is one client thread on the same machine as the server.
#
#   bench/open-loop.sh MAX_PER_S [seconds per rate, default 10] [durability, default os]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MAX="${1:?usage: bench/open-loop.sh MAX_PER_S [seconds] [durability]}"
DURATION="${2:-10}"
DURABILITY="${3:-os}"
cargo build --release --bin smart-routing >&2
WORK="$(mktemp -d)"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

echo "smart-routing bench --rate R --duration $DURATION --labels 1 --task-types sample_task_1; durability $DURABILITY; 4 no-op workers (--time-scale 0, 64 slots), a fresh server per rate; maximum $MAX/s; $(nproc) cores; load average $(cut -d' ' -f1 /proc/loadavg) at the start; $(date -u +%FT%TZ)"
echo
echo "| share of max | rate/s | sent | completed/s | failed | latency p50 | p99 | p99.9 | added p50 | p99 | p99.9 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for share in 25 50 75 90; do
  rate=$(( MAX * share / 100 ))
  start "$DURABILITY"
  "$BIN" bench --url "$URL" --rate "$rate" --duration "$DURATION" --labels 1 \
    --task-types sample_task_1 --json > "$WORK/open-$share.json"
  stop
  python3 - "$share" "$WORK/open-$share.json" <<'EOF'
import json, sys
share, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
l, a = r["latency"], r["added"]
ms = lambda v: f"{v:.2f} ms"
print(f"| {share}% | {r['rate_per_s']:.0f} | {r['sent']} | {r['completed_per_s']:.0f} | {r['failed']} "
      f"| {ms(l['p50_ms'])} | {ms(l['p99_ms'])} | {ms(l['p999_ms'])} "
      f"| {ms(a['p50_ms'])} | {ms(a['p99_ms'])} | {ms(a['p999_ms'])} |")
EOF
done
