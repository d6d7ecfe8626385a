#!/usr/bin/env bash
# Python tests (pytest) against the real binary: creates .cache/venv-test from
# tests/python/requirements.txt (once; again when that file changes), then runs pytest.
# Expects target/debug/smart-routing (cargo test builds it) or SR_TEST_BIN (not SMART_ROUTING_*: the server reads those as settings).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.cache/venv-test"
REQS="$ROOT/tests/python/requirements.txt"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "python-tests.sh: creating $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r "$REQS"
  echo "$want" > "$stamp"
fi
# The worker SDK from python/, reinstalled every run so the tests see the current code
# (tests/python/test_sdk_packaging.py checks the installed files equal python/src).
"$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall ./python
cargo build --quiet
exec "$VENV/bin/python" -m pytest -q tests/python "$@"
