#!/usr/bin/env bash
# The ceiling of this architecture on this machine: examples/ceiling.rs makes the trip of
# a no-op /run-task with nothing of ours in it (actix-web handler → the body as one
# binary WebSocket frame → an echo peer in another process → the reply as the answer).
# Four peer processes, one connection each, and the wrk settings of bench/overhead.sh
# (its lua script, which POSTs /run-task bodies). Loopback only; needs wrk.
#
#   bench/ceiling.sh [seconds, default 10] [connections, default 64] [--row]
# --row prints one row for bench/overhead.sh's table instead of a table of its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
ROW="${3:-}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release --example ceiling >&2
CEILING="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/ceiling"
WORK="$(mktemp -d)"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

start_ceiling "$CEILING"

row="$(wrk_row ceiling "$URL" /run-task)"
if [ "$ROW" = --row ]; then
  echo "$row"
  exit 0
fi
IFS='|' read -r name path rps p50 p99 errors <<<"$row"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency; 4 echo peers; $(nproc) cores; $(date -u +%FT%TZ)"
echo
echo "| | path | 2xx answers/s | p50 | p99 | statuses |"
echo "|---|---|---|---|---|---|"
echo "| $name | \`$path\` | $rps | $p50 | $p99 | $errors |"
