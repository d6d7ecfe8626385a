#!/usr/bin/env bash
# embed_texts on the CUDA execution provider against CPU, through the real server.
#
# Needs: a binary built with `cargo build --release --features cuda`; ONNX Runtime's GPU
# build (the files libonnxruntime.so.1.31.1, libonnxruntime_providers_shared.so and
# libonnxruntime_providers_cuda.so from the PyPI wheel onnxruntime-gpu==1.31.1, which is
# built for CUDA 13) in ORT_GPU_LIB_DIR; CUDA 13's cublas/cudart/curand and cuDNN 9 on
# LD_LIBRARY_PATH; models/all-MiniLM-L6-v2 (scripts/setup.sh).
#
#   ORT_GPU_LIB_DIR=/opt/ort-gpu bench/gpu.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/target/release/smart-routing}"
: "${ORT_GPU_LIB_DIR:?set ORT_GPU_LIB_DIR to the folder with ONNX Runtime's GPU libraries}"
MODEL="$ROOT/models/all-MiniLM-L6-v2"
PORT="${PORT:-18080}"
work="$(mktemp -d)"
trap 'kill %1 2>/dev/null || true; rm -rf "$work"' EXIT

for d in minilm-cpu minilm-cuda minilm-cuda9; do
  mkdir -p "$work/models/$d"
  cp "$MODEL/model.onnx" "$MODEL/tokenizer.json" "$work/models/$d/"
done
printf 'max_batch_size = 32\nintra_op_threads = 0\ndevice = "cpu"\n' > "$work/models/minilm-cpu/model.toml"
printf 'max_batch_size = 32\ndevice = "cuda:0"\n' > "$work/models/minilm-cuda/model.toml"
printf 'max_batch_size = 32\ndevice = "cuda:9"\n' > "$work/models/minilm-cuda9/model.toml"
export LD_LIBRARY_PATH="$ORT_GPU_LIB_DIR:${LD_LIBRARY_PATH:-}"
SMART_ROUTING_LOCAL_MAX_LABELS=3 "$BIN" serve --bind "127.0.0.1:$PORT" --models "$work/models" \
  --local-workers 1 --ort-lib "$ORT_GPU_LIB_DIR/libonnxruntime.so.1.31.1" --log-dir "$work/logs" \
  > "$work/serve.out" 2> "$work/serve.err" &
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
python3 "$ROOT/bench/gpu_measure.py" "http://127.0.0.1:$PORT"
nvidia-smi --query-compute-apps=pid,used_memory --format=csv || true
