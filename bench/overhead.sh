#!/usr/bin/env bash
# Dispatcher overhead: wrk against /send-task and /run-task with no-op workers
# (worker --simulate --time-scale 0: no sleeping at all), and /health as the ceiling,
# with the task store on (durability os and fsync) and off, side by side in one run.
# Loopback only. Needs wrk (Debian: apt-get install -y wrk) and a release build.
#
#   bench/overhead.sh [seconds per run, default 10] [connections, default 64]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release --bin smart-routing >&2
BIN="$ROOT/target/release/smart-routing"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # start DURABILITY -> sets URL, SERVER_PID; 4 no-op workers
  local dir="$WORK/$1"
  mkdir -p "$dir"
  SMART_ROUTING_DURABILITY="$1" RUST_LOG=error "$BIN" serve --bind 127.0.0.1:0 \
    --log-dir "$dir/logs" --data-dir "$dir/data" > "$dir/serve.out" 2>"$dir/serve.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do grep -q listening "$dir/serve.out" && break; sleep 0.1; done
  URL="$(sed -n 's/^listening on //p' "$dir/serve.out")"
  local port="${URL##*:}"
  for i in 1 2 3 4; do
    RUST_LOG=error "$BIN" worker --dispatcher "ws://127.0.0.1:$port/worker-listen" \
      --worker-id "noop-$i" --simulate --time-scale 0 --slots 64 --max-labels 1 \
      >/dev/null 2>&1 &
    PIDS+=("$!")
  done
  for _ in $(seq 100); do
    [ "$(curl -s "$URL/workers" | grep -o noop- | wc -l)" -eq 4 ] && break; sleep 0.1
  done
}

stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

run() { # run NAME PATH -> one table row
  local name="$1" path="$2" out
  if [ "$path" = /health ]; then
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$URL$path")"
  else
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/overhead.lua "$URL" -- "$path")"
  fi
  local rps p50 p99 errors
  rps="$(awk '/^accepted_per_s/ {print $2}' <<<"$out")"
  [ -n "$rps" ] || rps="$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(awk '/^statuses/ {print $2}' <<<"$out")"
  echo "$name|$path|$rps|$p50|$p99|${errors:-200 only}"
}

ROWS=()
start off
ROWS+=("$(run "store off" /health)")
ROWS+=("$(run "store off" /send-task)")
ROWS+=("$(run "store off" /run-task)")
stop
start os
ROWS+=("$(run "store on (os)" /health)")
ROWS+=("$(run "store on (os)" /send-task)")
ROWS+=("$(run "store on (os)" /run-task)")
stop
start fsync
ROWS+=("$(run "store on (fsync)" /send-task)")
ROWS+=("$(run "store on (fsync)" /run-task)")
stop

HEALTH="$(cut -d'|' -f3 <<<"${ROWS[0]}")"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency; 4 no-op workers (--time-scale 0, 64 slots); $(nproc) cores; $(date -u +%FT%TZ)"
echo
echo "| store | path | 2xx answers/s | p50 | p99 | statuses | ratio to /health (store off) |"
echo "|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name path rps p50 p99 errors <<<"$row"
  ratio="$(awk -v a="$rps" -v b="$HEALTH" 'BEGIN {printf "%.2f", a / b}')"
  echo "| $name | \`$path\` | $rps | $p50 | $p99 | $errors | $ratio |"
done
