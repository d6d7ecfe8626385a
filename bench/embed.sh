#!/usr/bin/env bash
# embed_texts benchmark: ort called directly in-process (the ceiling) against the full path
# HTTP -> dispatcher -> local worker, batch sizes 1/8/32, dynamic batching on and off, and
# the memory one loaded model takes; all measured in one run of examples/embed_bench.rs.
#
#   bench/embed.sh                 print the report
#   bench/embed.sh --save          also write it to bench/results/embed.md
#   bench/embed.sh -- --reps 5     pass flags to the example (see its --help)
#
# Run it on a quiet machine: other compiles or benchmarks share the cores and skew the
# figures; the saved header records the load average and compiles seen at the start.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

save=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --save) save=1 ;;
    --) shift; args+=("$@"); break ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done

scripts/setup.sh >&2
cargo build --release --example embed_bench >&2

compiles=$(ps -eo comm= | grep -c '^rustc$' || true)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
command="bench/embed.sh"
if [ "$save" = 1 ]; then command+=" --save"; fi
if [ ${#args[@]} -gt 0 ]; then command+=" -- ${args[*]}"; fi
report=$(target/release/examples/embed_bench "${args[@]}")

header() {
  local cpu cores commit
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  cores=$(nproc)
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git status --porcelain -- src Cargo.toml 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes in src/"
  fi
  echo "# embed_texts benchmark: direct ort vs. the full HTTP path"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $cores cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, CPU only"
  echo "- command: \`$command\` (runs \`cargo run --release --example embed_bench\`)"
  echo "- source: $commit"
  echo "- at start: load average $loadavg, $compiles rustc processes running"
  echo
}

if [ "$save" = 1 ]; then
  mkdir -p bench/results
  { header; echo "$report"; } > bench/results/embed.md
  echo "saved bench/results/embed.md" >&2
fi
{ header; echo "$report"; }
