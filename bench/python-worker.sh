#!/usr/bin/env bash
# No-op tasks per second through one Python SDK worker against one Rust simulated worker
# (`--simulate --time-scale 0`: no sleeping), in the same run on the same machine: for
# each round, each kind gets a fresh server and one worker, 2 s of warm-up, then wrk
# (C connections POSTing /run-task, one label, a no-op sample_task_1) for D seconds.
# Kinds: rust (simulated worker), py-async (async def task), py-sync (def task, thread pool).
#
#   bench/python-worker.sh                  print the report
#   bench/python-worker.sh --save           also write bench/results/python-worker.md
#   ROUNDS=3 DURATION=10 CONNECTIONS=16 SLOTS=4 bench/python-worker.sh
#
# Needs wrk (apt-get install wrk) and the Python test venv with the SDK
# (scripts/python-tests.sh creates it); builds the release binary unless
# SR_BIN is set. Run it on a quiet machine: the header records the load.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
SLOTS="${SLOTS:-4}"
PYTHON="${PYTHON:-$ROOT/.cache/venv-test/bin/python}"
save=0
for arg in "$@"; do
  case "$arg" in
    --save) save=1 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
[[ -x "$PYTHON" ]] || { echo "no Python at $PYTHON: run scripts/python-tests.sh first (or set PYTHON)" >&2; exit 1; }
"$PYTHON" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall ./python >&2
if [[ -z "${SR_BIN:-}" ]]; then  # not SMART_ROUTING_*: serve reads those as settings
  cargo build --release --bin smart-routing >&2
  SR_BIN="$ROOT/target/release/smart-routing"
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_server DIR: starts serve on a free port; sets PORT and SERVER_PID.
start_server() {
  mkdir -p "$1"
  RUST_LOG=warn "$SR_BIN" serve --bind 127.0.0.1:0 --log-dir "$1/logs" >"$1/serve.out" 2>"$1/serve.err" &
  SERVER_PID=$!
  pids+=("$SERVER_PID")
  for _ in $(seq 100); do
    if grep -q "listening on" "$1/serve.out" 2>/dev/null; then break; fi
    sleep 0.05
  done
  PORT="$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$1/serve.out")"
  [[ -n "$PORT" ]] || { cat "$1/serve.err" >&2; exit 1; }
}

# start_worker KIND: one worker of that kind against 127.0.0.1:$PORT; sets WORKER_PID.
start_worker() {
  local url="ws://127.0.0.1:$PORT/worker-listen"
  case "$1" in
    rust) RUST_LOG=warn "$SR_BIN" worker --dispatcher "$url" --worker-id w --slots "$SLOTS" \
            --simulate --time-scale 0 --task-types sample_task_1 & ;;
    py-async|py-sync) NOOP_KIND="${1#py-}" "$PYTHON" -m smart_routing_worker bench/python_noop_worker.py:worker \
            --dispatcher "$url" --worker-id w --slots "$SLOTS" --log-level WARNING & ;;
  esac
  WORKER_PID=$!
  pids+=("$WORKER_PID")
  for _ in $(seq 200); do
    if curl -sf "http://127.0.0.1:$PORT/workers" | grep -q '"w"'; then return; fi
    sleep 0.05
  done
  echo "the $1 worker did not join" >&2
  exit 1
}

# measure KIND ROUND: prints "KIND ROUND req_per_s p50 p99 errors".
measure() {
  local dir="$work/$1-$2"
  start_server "$dir"
  start_worker "$1"
  wrk -t2 -c"$CONNECTIONS" -d2s -s bench/run-task.lua "http://127.0.0.1:$PORT" -- "warm" >/dev/null
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/run-task.lua "http://127.0.0.1:$PORT" -- "run" >"$dir/wrk.txt"
  local rps p50 p99 errors
  rps="$(awk '/^Requests\/sec/ {print $2}' "$dir/wrk.txt")"
  p50="$(awk '$1 == "50%" {print $2}' "$dir/wrk.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$dir/wrk.txt")"
  errors="$(awk '/Non-2xx/ {print $5}' "$dir/wrk.txt")"
  kill "$WORKER_PID" "$SERVER_PID" 2>/dev/null || true
  wait "$WORKER_PID" "$SERVER_PID" 2>/dev/null || true
  echo "$1 $2 $rps $p50 $p99 ${errors:-0}"
}

loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"
compiles="$(ps -eo comm= | grep -c '^rustc$' || true)"
rows="$work/rows.txt"
for round in $(seq "$ROUNDS"); do
  for kind in rust py-async py-sync; do
    measure "$kind" "$round" | tee -a "$rows" >&2
  done
done

report() {
  local cpu commit
  cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ -n "$(git status --porcelain -- src python 2>/dev/null)" ]]; then commit="$commit + uncommitted changes"; fi
  echo "# No-op tasks per second: a Python SDK worker against the Rust simulated worker"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($cpu), shared with the load generator, the server and the worker"
  echo "- command: \`ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS SLOTS=$SLOTS bench/python-worker.sh$([[ $save == 1 ]] && echo ' --save')\`"
  echo "- server: \`$(basename "$SR_BIN")\` $( [[ "$SR_BIN" == *release* ]] && echo release || echo "build at $SR_BIN"), one worker with $SLOTS slots, $CONNECTIONS wrk connections on POST /run-task, ${DURATION} s per measurement after 2 s of warm-up, $ROUNDS rounds interleaved"
  echo "- source: $commit; at start: load average $loadavg, $compiles rustc processes running"
  echo
  echo "| worker | tasks/s (median) | tasks/s per round | p50 latency (median) | p99 latency (median) | vs rust | non-2xx |"
  echo "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
  "$PYTHON" - "$rows" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
by = {}
for kind, _round, rps, p50, p99, errors in rows:
    by.setdefault(kind, []).append((float(rps), p50, p99, int(errors)))
def ms(text):
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    for unit in ("us", "ms", "s"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)
rust = statistics.median(r[0] for r in by["rust"])
for kind in ("rust", "py-async", "py-sync"):
    runs = by[kind]
    median = statistics.median(r[0] for r in runs)
    p50 = statistics.median(ms(r[1]) for r in runs)
    p99 = statistics.median(ms(r[2]) for r in runs)
    per = ", ".join(f"{r[0]:.0f}" for r in runs)
    print(f"| {kind} | {median:.0f} | {per} | {p50:.2f} ms | {p99:.2f} ms | {median / rust:.2f}x | {sum(r[3] for r in runs)} |")
PY
}

out="$(report)"
echo "$out"
if [[ "$save" == 1 ]]; then
  mkdir -p bench/results
  echo "$out" > bench/results/python-worker.md
  echo "saved bench/results/python-worker.md" >&2
fi
