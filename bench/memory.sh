#!/usr/bin/env bash
# Server memory with 20,000 labels and 100,000 retained tasks (release build, loopback).
# Usage: bench/memory.sh [TASKS] [LABELS] [LABEL_IDLE_S]
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${1:-100000}
LABELS=${2:-20000}
IDLE=${3:-20}
BIN=${BIN:-target/release/smart-routing}
[ "$BIN" = target/release/smart-routing ] && cargo build --release --bin smart-routing >&2

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

SMART_ROUTING_MAX_QUEUE=200000 SMART_ROUTING_LABEL_IDLE_S=$IDLE RUST_LOG=warn \
  "$BIN" serve --bind 127.0.0.1:0 --log-dir "$work/logs" --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
pids+=("$server")
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
ws="ws://${url#http://}/worker-listen"
for i in 1 2 3 4; do
  RUST_LOG=warn "$BIN" worker --dispatcher "$ws" --worker-id "mem-$i" --simulate \
    --time-scale 0.0001 --slots 64 --max-labels 64 >/dev/null 2>&1 &
  pids+=("$!")
done
for _ in $(seq 100); do
  [ "$(curl -s "$url/workers" | grep -o mem- | wc -l)" = 4 ] && break; sleep 0.1
done
echo "server $url (pid $server), $TASKS tasks over $LABELS labels, label_idle_s=$IDLE"
python3 bench/memory.py "$url" "$server" "$TASKS" "$LABELS" "$IDLE"
