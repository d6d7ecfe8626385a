#!/usr/bin/env bash
# Dispatcher overhead: wrk against /send-task and /run-task with no-op workers
# (worker --simulate --time-scale 0: no sleeping at all), with the task store off and on
# (durability os and fsync), against the ceiling of the architecture (bench/ceiling.sh:
# the same trip, HTTP → one WebSocket frame → echo peer → HTTP, with nothing of ours in
# it) and /health, side by side in one run. Every row has a fresh server (an empty queue:
# a /run-task row never waits behind a /send-task backlog). Loopback only. Needs wrk
# (Debian: apt-get install -y wrk) and release builds.
#
#   bench/overhead.sh [seconds per run, default 10] [connections, default 64]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release --bin smart-routing --example ceiling >&2
WORK="$(mktemp -d)"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

ROWS=()
ROWS+=("$(bench/ceiling.sh "$DURATION" "$CONNECTIONS" --row)")
start off
ROWS+=("$(wrk_row "store off" "$URL" /health)")
stop
for durability in off os fsync; do
  name="store on ($durability)"
  [ "$durability" = off ] && name="store off"
  for path in /send-task /run-task; do
    start "$durability"
    ROWS+=("$(wrk_row "$name" "$URL" "$path")")
    stop
  done
done

CEILING="$(cut -d'|' -f3 <<<"${ROWS[0]}")"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency; 4 no-op workers (--time-scale 0, 64 slots), a fresh server per row; $(nproc) cores; load average $(cut -d' ' -f1 /proc/loadavg) at the start; $(date -u +%FT%TZ)"
echo
echo "| store | path | 2xx answers/s | p50 | p99 | statuses | ratio to the ceiling |"
echo "|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name path rps p50 p99 errors <<<"$row"
  ratio="$(awk -v a="$rps" -v b="$CEILING" 'BEGIN {printf "%.2f", a / b}')"
  echo "| $name | \`$path\` | $rps | $p50 | $p99 | $errors | $ratio |"
done
