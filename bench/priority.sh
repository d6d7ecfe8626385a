#!/usr/bin/env bash
# Priority, live: a batch tenant keeps the pool saturated (closed loop, 16 producers, no
# think time) while an interactive client sends Poisson arrivals at 2/s; the interactive
# latency when both are one tenant (arrival order), when it is a tenant of its own with
# the same priority (fair share), and with priority 10. Two simulated workers, one slot
# each, tasks scaled to ~1/20 of their simulated time.
#
#   bench/priority.sh [seconds per run, default 20]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-20}"
cargo build --release --bin smart-routing >&2
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/smart-routing"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

run() { # run MODE PRIORITY TOKEN -> a row for the interactive client
  local mode="$1" priority="$2" token="$3" dir="$WORK/$1"
  mkdir -p "$dir"
  cat > "$dir/config.toml" <<TOML
durability = "off"
[tenants.live]
token = "live-token"
priority = $priority
[tenants.batch]
token = "batch-token"
TOML
  RUST_LOG=error "$BIN" serve --config "$dir/config.toml" --bind 127.0.0.1:0 \
    --log-dir "$dir/logs" --data-dir "$dir/data" > "$dir/serve.out" 2>"$dir/serve.err" &
  PIDS+=("$!")
  local server=$!
  for _ in $(seq 100); do grep -q listening "$dir/serve.out" && break; sleep 0.1; done
  local url port
  url="$(sed -n 's/^listening on //p' "$dir/serve.out")"
  port="${url##*:}"
  local workers=()
  for i in 1 2; do
    RUST_LOG=error "$BIN" worker --dispatcher "ws://127.0.0.1:$port/worker-listen" \
      --worker-id "w-$i" --simulate --time-scale 0.05 --max-labels 2 >/dev/null 2>&1 &
    workers+=("$!")
    PIDS+=("$!")
  done
  sleep 1
  SMART_ROUTING_CLIENT_TOKEN=batch-token "$BIN" bench --url "$url" --producers 16 \
    --wait-avg 0 --wait-stddev 0 --requests 1000000 --labels 2 --time-scale 0.05 \
    --task-types sample_task_1 --json > "$dir/batch.json" 2>/dev/null &
  local batch=$!
  sleep 2
  SMART_ROUTING_CLIENT_TOKEN="$token" "$BIN" bench --url "$url" --rate 2 \
    --duration "$DURATION" --labels 2 --task-types sample_task_1 --json > "$dir/live.json"
  kill "$batch" "$server" "${workers[@]}" 2>/dev/null || true
  wait "$server" "${workers[@]}" 2>/dev/null || true
  python3 - "$mode" "$dir/live.json" <<'PY'
import json, sys
mode, path = sys.argv[1:3]
r = json.load(open(path))
l = r["latency"]
print(f"| {mode} | {r['sent']} | {r['failed']} | {l['p50_ms']:.0f} ms | {l['p99_ms']:.0f} ms | {l['p999_ms']:.0f} ms |")
PY
}

echo "bench/priority.sh $DURATION: 2 simulated workers (1 slot, --time-scale 0.05), batch: bench --producers 16 --wait-avg 0 (closed loop, saturating); interactive: bench --rate 2 --duration $DURATION; $(nproc) cores; load average $(cut -d' ' -f1 /proc/loadavg); $(date -u +%FT%TZ)"
echo
echo "| interactive client | sent | failed | latency p50 | p99 | p99.9 |"
echo "|---|---|---|---|---|---|"
run "one tenant with batch (arrival order)" 0 batch-token
run "own tenant, priority 0 (fair share)" 0 live-token
run "own tenant, priority 10" 10 live-token
