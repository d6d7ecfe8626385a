#!/usr/bin/env bash
# The cost of a task, as bench/results/overhead.md records it: bench/overhead.sh three
# times (the ceiling, /health, store off / os / fsync, side by side in each run), the
# median of each row over the three, then bench/open-loop.sh at 25/50/75/90% of the
# median store-on (os) /run-task rate, with the store on (os) and, at the same rates,
# off. Prints Markdown.
#
#   bench/cost.sh [seconds per row, default 8] [connections, default 64] > out.md
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-8}"
CONNECTIONS="${2:-64}"
WORK="$(mktemp -d)"
for run in 1 2 3; do
  bench/overhead.sh "$DURATION" "$CONNECTIONS" > "$WORK/run-$run.md"
done
python3 - "$WORK"/run-*.md > "$WORK/medians.md" <<'EOF'
import statistics, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1].startswith("`"):
            rows.setdefault((cells[0], cells[1]), []).append(float(cells[2]))
ceiling = statistics.median(rows[("ceiling", "`/run-task`")])
off = {path: statistics.median(v) for (name, path), v in rows.items() if name == "store off"}
print("| store | path | median 2xx answers/s | runs | ratio to the ceiling | ratio to store off |")
print("|---|---|---|---|---|---|")
for (name, path), values in rows.items():
    median = statistics.median(values)
    to_off = f"{median / off[path]:.2f}" if path in off and name != "ceiling" else ""
    runs = ", ".join(f"{v:.0f}" for v in values)
    print(f"| {name} | {path} | {median:.0f} | {runs} | {median / ceiling:.2f} | {to_off} |")
EOF
MAX="$(awk -F'|' '$2 ~ /store on \(os\)/ && $3 ~ /run-task/ {gsub(/ /, "", $4); print $4}' "$WORK/medians.md")"
echo "## Medians of three runs"
echo
cat "$WORK/medians.md"
for run in 1 2 3; do
  echo
  echo "## Run $run"
  echo
  echo '```'
  echo "\$ bench/overhead.sh $DURATION $CONNECTIONS"
  cat "$WORK/run-$run.md"
  echo '```'
done
echo
echo "## Open loop at 25/50/75/90% of the median store-on (os) /run-task rate"
echo
for durability in os off; do
  echo '```'
  echo "\$ bench/open-loop.sh $MAX $DURATION $durability"
  bench/open-loop.sh "$MAX" "$DURATION" "$durability"
  echo '```'
done
