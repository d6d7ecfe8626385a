# Sourced by bench/overhead.sh and bench/open-loop.sh: start a release server with four
# no-op workers (worker --simulate --time-scale 0 --slots 64), stop it, and the wrk row.
# Each `start` is a fresh server with a fresh store: every measurement begins with an
# empty queue. Expects ROOT and WORK set; sets URL and SERVER_PID.

BIN="$ROOT/target/release/smart-routing"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # start DURABILITY -> sets URL, SERVER_PID, WORKER_PIDS; 4 no-op workers
  local dir
  dir="$(mktemp -d "$WORK/$1.XXXX")"
  SMART_ROUTING_DURABILITY="$1" RUST_LOG=error "$BIN" serve --bind 127.0.0.1:0 \
    --log-dir "$dir/logs" --data-dir "$dir/data" > "$dir/serve.out" 2>"$dir/serve.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do grep -q listening "$dir/serve.out" && break; sleep 0.1; done
  URL="$(sed -n 's/^listening on //p' "$dir/serve.out")"
  local port="${URL##*:}"
  WORKER_PIDS=()
  for i in 1 2 3 4; do
    RUST_LOG=error "$BIN" worker --dispatcher "ws://127.0.0.1:$port/worker-listen" \
      --worker-id "noop-$i" --simulate --time-scale 0 --slots 64 --max-labels 1 \
      >/dev/null 2>&1 &
    WORKER_PIDS+=("$!")
    PIDS+=("$!")
  done
  for _ in $(seq 100); do
    [ "$(curl -s "$URL/workers" | grep -o noop- | wc -l)" -eq 4 ] && break; sleep 0.1
  done
}

stop() { # the server and its workers
  kill "$SERVER_PID" "${WORKER_PIDS[@]}" 2>/dev/null || true
  wait "$SERVER_PID" "${WORKER_PIDS[@]}" 2>/dev/null || true
}

wrk_row() { # wrk_row NAME URL PATH -> NAME|PATH|2xx/s|p50|p99|statuses
  local name="$1" url="$2" path="$3" out
  if [ "$path" = /health ]; then
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url$path")"
  else
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/bench/overhead.lua" "$url" -- "$path")"
  fi
  local rps p50 p99 errors
  rps="$(awk '/^accepted_per_s/ {print $2}' <<<"$out")"
  [ -n "$rps" ] || rps="$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(awk '/^statuses/ {print $2}' <<<"$out")"
  echo "$name|$path|$rps|$p50|$p99|${errors:-200 only}"
}
