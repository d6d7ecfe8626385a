#!/usr/bin/env bash
# The original's `task run-benchmark`, live: builds the release binary once, then for each
# policy starts a fresh dispatcher and NUM_WORKERS simulated workers on loopback, runs
# `smart-routing bench` against it, prints the report and stops everything.
#
# Settings come from the environment (defaults in brackets) or the flags below:
#   NUM_WORKERS  --workers N       simulated workers [2]
#   POLICY       --policy P|all    affinity, original, random, least-loaded or all [affinity]
#   K            --max-labels K    labels a worker holds at once [2]
#   SLOTS        --slots S         tasks a worker runs at once [1]
#   TIME_SCALE   --time-scale X    workers' and producers' time scale [0.1]
#   REQUESTS     --requests N      [2400]
#   PRODUCERS    --producers P     [2]
#   WAIT_AVG     --wait-avg A      producer think time mean, seconds (unscaled) [0.75]
#   WAIT_STDDEV  --wait-stddev S   [1.0]
#   LABELS       --labels L        [4]
#   SEED         --seed N          producers' seed; worker i uses seed i [1]
#   JSON=1       --json            print one JSON report (all policies) instead of tables
#   OUT_DIR      --out DIR         where logs and reports go [a new temporary directory]
#   CONFIG       --config FILE     the servers' config file [config/default.toml]
#   TAG          --tag TEXT        appended to each policy's name in the report
#   BIN                            use this binary instead of building the release one
# Example (the original's "labels at capacity" run, ten times faster):
#   bench/run-benchmark.sh --policy all --workers 2 --labels 4 --wait-avg 0.75
set -euo pipefail

NUM_WORKERS=${NUM_WORKERS:-2}
POLICY=${POLICY:-affinity}
K=${K:-2}
SLOTS=${SLOTS:-1}
TIME_SCALE=${TIME_SCALE:-0.1}
REQUESTS=${REQUESTS:-2400}
PRODUCERS=${PRODUCERS:-2}
WAIT_AVG=${WAIT_AVG:-0.75}
WAIT_STDDEV=${WAIT_STDDEV:-1.0}
LABELS=${LABELS:-4}
SEED=${SEED:-1}
JSON=${JSON:-0}
OUT_DIR=${OUT_DIR:-}
CONFIG=${CONFIG:-config/default.toml}
TAG=${TAG:-}

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --workers) NUM_WORKERS=$2; shift 2 ;;
        --policy) POLICY=$2; shift 2 ;;
        --max-labels) K=$2; shift 2 ;;
        --slots) SLOTS=$2; shift 2 ;;
        --time-scale) TIME_SCALE=$2; shift 2 ;;
        --requests) REQUESTS=$2; shift 2 ;;
        --producers) PRODUCERS=$2; shift 2 ;;
        --wait-avg) WAIT_AVG=$2; shift 2 ;;
        --wait-stddev) WAIT_STDDEV=$2; shift 2 ;;
        --labels) LABELS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --json) JSON=1; shift ;;
        --out) OUT_DIR=$2; shift 2 ;;
        --config) CONFIG=$2; shift 2 ;;
        --tag) TAG=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
if [[ "$POLICY" == all ]]; then
    POLICIES=(affinity original random least-loaded)
else
    IFS=, read -r -a POLICIES <<< "$POLICY"
fi
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/smart-routing-bench.XXXXXX")}
mkdir -p "$OUT_DIR"

if [[ -z "${BIN:-}" ]]; then
    echo "building the release binary..." >&2
    cargo build --release --quiet
    BIN=$PWD/target/release/smart-routing
fi
# The servers read this snapshot, so an edit of the config during a long run cannot
# disagree with the binary built above.
cp "$CONFIG" "$OUT_DIR/config.toml"

PIDS=()
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

# Waits up to $2 seconds for the command $1 to succeed.
wait_for() {
    local deadline=$((SECONDS + $2))
    until eval "$1"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.2
    done
}

REPORTS=()
for policy in "${POLICIES[@]}"; do
    log_dir="$OUT_DIR/$policy"
    mkdir -p "$log_dir"
    "$BIN" serve --config "$OUT_DIR/config.toml" --bind 127.0.0.1:0 --policy "$policy" \
        --log-dir "$log_dir/events" \
        > "$log_dir/serve.out" 2> "$log_dir/serve.err" &
    PIDS+=($!)
    if ! wait_for "grep -q 'listening on http://' '$log_dir/serve.out'" 30; then
        echo "the server did not start; see $log_dir/serve.err" >&2
        exit 1
    fi
    addr=$(grep -o 'listening on http://[^ ]*' "$log_dir/serve.out" | head -n1 | sed 's|listening on http://||')
    for i in $(seq 1 "$NUM_WORKERS"); do
        "$BIN" worker --dispatcher "ws://$addr/worker-listen" --worker-id "w-$i" \
            --max-labels "$K" --slots "$SLOTS" --simulate --time-scale "$TIME_SCALE" --seed "$i" \
            > "$log_dir/worker-$i.log" 2>&1 &
        PIDS+=($!)
    done
    count_workers="curl -fsS 'http://$addr/workers' | grep -o '\"w-[0-9]*\"' | wc -l"
    if ! wait_for "[[ \$($count_workers) -ge $NUM_WORKERS ]]" 30; then
        echo "only $(eval "$count_workers") of $NUM_WORKERS workers joined; see $log_dir/worker-*.log" >&2
        exit 1
    fi
    echo "policy $policy: server $addr, $NUM_WORKERS workers; running the producers..." >&2
    report="$log_dir/report.json"
    "$BIN" bench --url "http://$addr" --requests "$REQUESTS" --producers "$PRODUCERS" \
        --wait-avg "$WAIT_AVG" --wait-stddev "$WAIT_STDDEV" --labels "$LABELS" \
        --time-scale "$TIME_SCALE" --seed "$SEED" --policy-name "$policy$TAG" --json > "$report"
    REPORTS+=("$report")
    stop_all
done

# One report with a column per policy, from the per-policy JSON reports.
python3 - "$JSON" "$NUM_WORKERS" "$K" "$SLOTS" "${REPORTS[@]}" <<'PY'
import json, sys
as_json, workers, k, slots, paths = sys.argv[1] == "1", sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
config, results = {}, {}
for path in paths:
    with open(path) as f:
        report = json.load(f)
    config = report["config"]
    results.update(report["results"])
config.pop("url", None)  # a fresh server per policy
config.update({"workers": int(workers), "max_labels": int(k), "slots": int(slots)})
if as_json:
    print(json.dumps({"config": config, "results": results}, indent=2))
    sys.exit()
rows = [
    ("Total Requests", "requests", "{:.0f}"), ("Tasks Completed", "completed", "{:.0f}"),
    ("Total Failed Requests", "failed", "{:.0f}"), ("Total Label Misses", "label_misses", "{:.0f}"),
    ("Average Task Runtime (s)", "mean_task_runtime_s", "{:.4f}"),
    ("Latency mean (s)", "latency_mean_s", "{:.3f}"), ("Latency p50 (s)", "latency_p50_s", "{:.3f}"),
    ("Latency p95 (s)", "latency_p95_s", "{:.3f}"), ("Latency p99 (s)", "latency_p99_s", "{:.3f}"),
    ("Makespan (s)", "makespan_s", "{:.1f}"), ("Throughput (req/s)", "throughput_per_s", "{:.3f}"),
]
def show(v):
    return ",".join(map(str, v)) if isinstance(v, list) else str(v)
print("Config: " + " ".join(f"{k}={show(v)}" for k, v in sorted(config.items())))
names = list(results)
cells = [[fmt.format(results[n][key]) if key in results[n] else "-" for n in names] for _, key, fmt in rows]
widths = [max(len(n), *(len(c[i]) for c in cells)) for i, n in enumerate(names)]
label_w = max(len(r[0]) for r in rows)
print(" " * label_w + "".join(f"  {n:>{w}}" for n, w in zip(names, widths)))
for (label, _, _), row in zip(rows, cells):
    print(f"{label:<{label_w}}" + "".join(f"  {c:>{w}}" for c, w in zip(row, widths)))
PY
echo "logs and per-policy reports: $OUT_DIR" >&2
