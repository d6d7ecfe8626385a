#!/usr/bin/env bash
# The main job: the dispatcher with two in-process ONNX workers serving the real
# all-MiniLM-L6-v2 model (embed_texts) and two simulated remote workers
# (sample_task_1/sample_task_2), ready for curl. Ctrl-C stops everything.
#
#   scripts/serve.sh                 listen on 127.0.0.1:8080
#   BIND=0.0.0.0:9000 scripts/serve.sh
#   POLICY=original scripts/serve.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIND="${BIND:-127.0.0.1:8080}"
POLICY="${POLICY:-affinity}"

scripts/setup.sh
echo "serve.sh: building (release; the first build takes a few minutes) ..."
cargo build --release --quiet
BIN="$ROOT/target/release/smart-routing"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$BIN" serve --bind "$BIND" --policy "$POLICY" --models models --local-workers 2 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://$BIND/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://$BIND/health" >/dev/null || { echo "serve.sh: the server did not come up" >&2; exit 1; }
for i in 1 2; do
  "$BIN" worker --dispatcher "ws://$BIND/worker-listen" --worker-id "sim-$i" \
    --max-labels 2 --slots 1 --simulate --time-scale 0.1 --seed "$i" &
  pids+=($!)
done
sleep 1
cat <<MSG

Ready on http://$BIND  (workers: $(curl -s "http://$BIND/workers"))
Try:
  curl -s http://$BIND/run-task -d '{"task_id":"e-1","task_type":"embed_texts","label":"all-MiniLM-L6-v2","parameters_json":"{\"texts\":[\"The weather is lovely today.\"]}"}'
  curl -s http://$BIND/run-task -d '{"task_id":"s-1","task_type":"sample_task_1","label":"label-1","parameters_json":"{}"}'
  curl -s http://$BIND/labels
Ctrl-C to stop.
MSG
wait
