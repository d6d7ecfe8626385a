#!/usr/bin/env bash
# Dispatcher overhead: wrk against /send-task and /run-task with no-op workers
# (worker --simulate --time-scale 0: no sleeping at all), with the task store off and on
# (durability os and fsync), against the ceiling of the architecture (bench/ceiling.sh:
# the same trip, HTTP → one WebSocket frame → echo peer → HTTP, with nothing of ours in
# it) and /health, side by side in one run. Every row has a fresh server (an empty queue:
# a /run-task row never waits behind a /send-task backlog). Loopback only. Needs wrk
# (Debian: apt-get install -y wrk) and release builds.
#
# --tls adds the /health and /run-task rows (store off and os) over TLS, each right after
# its plain twin: a server with --tls-cert/--tls-key (a fresh openssl CA and certificate),
# wrk on https://, workers on wss:// with --ca-cert; a last line gives TLS / plain.
# --tls-only measures just those pairs, without the ceiling or the other rows.
#
#   bench/overhead.sh [seconds per run, default 10] [connections, default 64] [--tls|--tls-only]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
TLS="${3:-}"
case "$TLS" in "" | --tls | --tls-only) ;; *) echo "unknown option $TLS (--tls, --tls-only)" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release --bin smart-routing --example ceiling >&2
WORK="$(mktemp -d)"
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"
[ -n "$TLS" ] && make_certs

ROWS=()
row() { # row NAME DURABILITY PATH: a fresh server, one wrk run; then its TLS twin with --tls
  start "$2"
  ROWS+=("$(wrk_row "$1" "$URL" "$3")")
  stop
  if [ -n "$TLS" ] && [ "$3" != /send-task ] && [ "$2" != fsync ]; then
    start "$2" tls
    ROWS+=("$(wrk_row "$1, TLS" "$URL" "$3")")
    stop
  fi
}
if [ "$TLS" = --tls-only ]; then
  row "store off" off /health
  row "store off" off /run-task
  row "store on (os)" os /run-task
else
  ROWS+=("$(bench/ceiling.sh "$DURATION" "$CONNECTIONS" --row)")
  row "store off" off /health
  for durability in off os fsync; do
    name="store on ($durability)"
    [ "$durability" = off ] && name="store off"
    for path in /send-task /run-task; do
      row "$name" "$durability" "$path"
    done
  done
fi

CEILING=""
[ "$TLS" = --tls-only ] || CEILING="$(cut -d'|' -f3 <<<"${ROWS[0]}")"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency; 4 no-op workers (--time-scale 0, 64 slots), a fresh server per row; $(nproc) cores; load average $(cut -d' ' -f1 /proc/loadavg) at the start; $(date -u +%FT%TZ)"
echo
echo "| store | path | 2xx answers/s | p50 | p99 | statuses | ratio to the ceiling |"
echo "|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name path rps p50 p99 errors <<<"$row"
  ratio="-"
  [ -n "$CEILING" ] && ratio="$(awk -v a="$rps" -v b="$CEILING" 'BEGIN {printf "%.2f", a / b}')"
  echo "| $name | \`$path\` | $rps | $p50 | $p99 | $errors | $ratio |"
done
if [ -n "$TLS" ]; then
  # Each TLS row follows its plain twin: TLS / plain, by row.
  ratios=()
  for i in "${!ROWS[@]}"; do
    IFS='|' read -r name path rps _ <<<"${ROWS[$i]}"
    [[ "$name" == *", TLS" ]] || continue
    IFS='|' read -r _ _ plain _ <<<"${ROWS[$((i - 1))]}"
    ratios+=("${name%, TLS} \`$path\` $(awk -v a="$rps" -v b="$plain" 'BEGIN {printf "%.2f", a / b}')")
  done
  echo
  echo "TLS / plain: $(IFS=';'; echo "${ratios[*]}" | sed 's/;/; /g')"
fi
