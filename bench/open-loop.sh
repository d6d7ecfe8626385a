#!/usr/bin/env bash
# Open-loop latency of no-op /run-task with the store on (durability os): Poisson arrivals
# at 25/50/75/90% of a maximum rate (`smart-routing bench --rate`, latency from each
# request's intended send time, no coordinated omission), a fresh server with four no-op
# workers per rate. "added" is the latency less the worker's reported load and run time.
# The load generator is one client thread on the same machine as the server. The last
# columns read the store's group commits from /metrics after the run (smart_routing_store_
# commit_*): the mean writes per transaction, and the bucket holding the p99 of the wait
# from a transaction's oldest write being queued to its commit.
#
#   bench/open-loop.sh MAX_PER_S [seconds per rate, default 10] [durability, default os]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MAX="${1:?usage: bench/open-loop.sh MAX_PER_S [seconds] [durability]}"
DURATION="${2:-10}"
DURABILITY="${3:-os}"
# The same targets as bench/overhead.sh: building the binary alone unifies other
# dependency features and would rebuild it.
cargo build --release --bin smart-routing --example ceiling >&2
WORK="$(mktemp -d)"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

echo "smart-routing bench --rate R --duration $DURATION --labels 1 --task-types sample_task_1; durability $DURABILITY; 4 no-op workers (--time-scale 0, 64 slots), a fresh server per rate; maximum $MAX/s; $(nproc) cores; load average $(cut -d' ' -f1 /proc/loadavg) at the start; $(date -u +%FT%TZ)"
echo
echo "| share of max | rate/s | sent | completed/s | failed | latency p50 | p99 | p99.9 | added p50 | p99 | p99.9 | writes per commit | commit wait p99 |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for share in 25 50 75 90; do
  rate=$(( MAX * share / 100 ))
  start "$DURABILITY"
  "$BIN" bench --url "$URL" --rate "$rate" --duration "$DURATION" --labels 1 \
    --task-types sample_task_1 --json > "$WORK/open-$share.json"
  curl -s "$URL/metrics" > "$WORK/metrics-$share.txt"
  stop
  python3 - "$share" "$WORK/open-$share.json" "$WORK/metrics-$share.txt" <<'EOF'
import json, sys
share, path, metrics = sys.argv[1:4]
r = json.load(open(path))
l, a = r["latency"], r["added"]
ms = lambda v: f"{v:.2f} ms"
values, buckets = {}, []
for line in open(metrics):
    if line.startswith("smart_routing_store_commit_"):
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
        if name.startswith("smart_routing_store_commit_wait_seconds_bucket"):
            buckets.append((name.split('le="')[1].rstrip('"}'), float(value)))
count = values.get("smart_routing_store_commit_batch_size_count", 0)
batch = f"{values['smart_routing_store_commit_batch_size_sum'] / count:.1f}" if count else "-"
wait = "-"
for le, n in buckets:
    if count and n >= 0.99 * count:
        wait = f"≤ {float(le) * 1000:g} ms" if le != "+Inf" else "> 3.3 s"
        break
print(f"| {share}% | {r['rate_per_s']:.0f} | {r['sent']} | {r['completed_per_s']:.0f} | {r['failed']} "
      f"| {ms(l['p50_ms'])} | {ms(l['p99_ms'])} | {ms(l['p999_ms'])} "
      f"| {ms(a['p50_ms'])} | {ms(a['p99_ms'])} | {ms(a['p999_ms'])} | {batch} | {wait} |")
EOF
done
