#!/usr/bin/env bash
# One misbehaving worker out of two, live (the cases of the worker-health work): each case
# gets a fresh server, a healthy and a sick Python SDK worker (slots=2, max_labels=2), and
# 8 clients sending 400 /run-task tasks of 30 ms over 3 labels (200 for the hung worker).
# Prints one JSON line per case; with --save, writes the table to bench/results/faults.md.
#
#   bench/faults.sh [--save] [bench/faults.py flags, e.g. --only raise,loader]
#
# Needs the Python test venv with the SDK (scripts/python-tests.sh creates it); builds the
# release binary unless SR_BIN is set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.cache/venv-test/bin/python}"
[[ -x "$PYTHON" ]] || { echo "no Python at $PYTHON: run scripts/python-tests.sh first (or set PYTHON)" >&2; exit 1; }
save=0
args=()
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done
"$PYTHON" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall ./python >&2
if [[ -z "${SR_BIN:-}" ]]; then  # not SMART_ROUTING_*: serve reads those as settings
  cargo build --release --bin smart-routing >&2
  SR_BIN="$ROOT/target/release/smart-routing"
fi
table="$("$PYTHON" bench/faults.py --binary "$SR_BIN" --markdown "${args[@]}")"
echo "$table"
if [[ $save -eq 1 ]]; then
  {
    echo "# One sick worker out of two"
    echo
    echo "\`bench/faults.sh --save\`, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Two Python SDK workers (slots=2, max_labels=2): \"healthy\" and \"sick\"; 8 clients,"
    echo "400 /run-task of 30 ms over 3 labels (200 for the hung worker); default [health] settings."
    echo
    echo "$table"
  } > bench/results/faults.md
  echo "wrote bench/results/faults.md" >&2
fi
