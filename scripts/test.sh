#!/usr/bin/env bash
# The test suite: fetches ONNX Runtime and the real model once (scripts/setup.sh), then
# runs every test: unit tests, the routing core on a virtual clock, and integration
# tests that start the real binary on loopback with real workers and real models, then
# the Python tests (pytest, in .cache/venv-test) against the same binary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
cargo test "$@"
scripts/python-tests.sh
