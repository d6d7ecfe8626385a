#!/usr/bin/env bash
# Fuzzes the worker frame decoder and the task submission decoder/validator with
# cargo-fuzz (libFuzzer), each target for SECONDS (default 180) in turn, starting from the
# committed seeds in fuzz/seeds/<target>. RUSTC_BOOTSTRAP=1 lets cargo-fuzz's nightly
# flags run on the stable toolchain. A crash is saved under fuzz/artifacts/<target>/;
# keep it as a regression case in tests/fixtures/fuzz/<target>/ (run by `cargo test`).
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-180}"
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi
for target in worker_frame task_submission; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
    cp -n tests/fixtures/fuzz/"$target"/* "$corpus"/ 2>/dev/null || true
    echo "== $target for ${seconds}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$corpus" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
