#!/usr/bin/env bash
# Where a no-op task's CPU goes in the server: `perf stat --per-thread` on a fresh server
# (store on, os; four no-op workers) while wrk runs /run-task, then CPU microseconds and
# context switches per answered task, for each thread group and in all. Rates swing on a
# shared machine; CPU per task moves far less, so compare builds with this.
#
#   bench/per-task-cpu.sh [seconds, default 5] [binary, default target/release/smart-routing]
# Needs perf (linux-perf) and wrk; perf must be allowed to read the server's counters
# (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${1:-5}"
CONNECTIONS=64
WORK="$(mktemp -d)"
for tool in perf wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"
BIN="${2:-$BIN}"

start os
perf stat --per-thread -e task-clock,context-switches -p "$SERVER_PID" -x, \
  -o "$WORK/stat.csv" -- sleep "$((DURATION + 1))" &
PERF_PID=$!
sleep 0.5
row="$(wrk_row os "$URL" /run-task)"
wait "$PERF_PID"
stop
rate="$(cut -d'|' -f3 <<<"$row")"
echo "bench/per-task-cpu.sh: $BIN; wrk -t2 -c$CONNECTIONS -d${DURATION}s /run-task, store on (os): $rate answers/s; $(nproc) cores, load avg $(cut -d' ' -f1 /proc/loadavg); $(date -u +%FT%TZ)"
python3 - "$WORK/stat.csv" "$rate" "$DURATION" "$SERVER_PID" <<'EOF'
import collections, re, sys
path, rate, duration, pid = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
tasks = rate * duration
# Thread names are cut at 15 characters: actix's HTTP workers (which also run the worker
# sessions) are all "actix-rt|system"; the main thread (the dispatcher and the registry's
# System) and the log sink's thread both carry the program's name.
names = {"actix-rt|system": "HTTP workers and worker sessions", "task-store": "task store (SQLite)"}
cpu, switches = collections.Counter(), collections.Counter()
for line in open(path):
    fields = line.strip().split(",")
    if len(fields) < 4 or not fields[1].replace(".", "", 1).isdigit():
        continue
    thread, tid = re.match(r"(.*)-(\d+)$", fields[0]).groups()
    if tid == pid:
        group = "main: dispatcher, registry"
    elif thread == "smart-routing":
        group = "log sink"
    else:
        group = names.get(thread, thread)
    if fields[3].startswith("task-clock"):
        cpu[group] += float(fields[1]) * 1e3  # ms -> µs
    elif fields[3].startswith("context-switches"):
        switches[group] += float(fields[1])
print()
print("| thread | CPU µs / task | context switches / task |")
print("|---|---|---|")
for group in sorted(cpu, key=cpu.get, reverse=True):
    print(f"| {group} | {cpu[group] / tasks:.1f} | {switches[group] / tasks:.2f} |")
print(f"| all | {sum(cpu.values()) / tasks:.1f} | {sum(switches.values()) / tasks:.2f} |")
EOF
