#!/usr/bin/env bash
# Chaos run (loopback only, bounded in time): 4 simulated workers, ~2,000 tasks (half
# /run-task, half /send-task), a worker killed -9 every 3-5 s and restarted, the server
# killed -9 twice and restarted on the same data directory and port, one SIGTERM drain
# and restart. Prints accepted, completed, failed by code, lost and duplicated; exits
# non-zero unless lost = 0 and duplicated = 0.
#
#   bench/chaos.sh [extra bench/chaos.py flags, e.g. --tasks 500]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build --release --bin smart-routing >&2
exec python3 bench/chaos.py --binary "$ROOT/target/release/smart-routing" "$@"
