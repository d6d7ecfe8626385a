# Sourced by the bench scripts: start a release server with four no-op workers (worker
# --simulate --time-scale 0 --slots 64), stop it, the same for the ceiling
# (examples/ceiling.rs and its four echo peers), and the wrk row.
# Each `start` is a fresh server with a fresh store: every measurement begins with an
# empty queue; `start DURABILITY tls` serves HTTPS/WSS with the certificates of
# `make_certs` (workers on wss:// with --ca-cert). Expects ROOT and WORK set; sets URL and
# SERVER_PID.

BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/smart-routing"
CERTS="$WORK/certs"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

make_certs() { # a CA and a server certificate for localhost and 127.0.0.1 in $CERTS
  mkdir -p "$CERTS"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=bench CA" \
    -keyout "$CERTS/ca-key.pem" -out "$CERTS/ca.pem" 2>/dev/null
  openssl req "${ec[@]}" -subj /CN=localhost \
    -keyout "$CERTS/server-key.pem" -out "$CERTS/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$CERTS/san.ext"
  openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$CERTS/san.ext" -out "$CERTS/server.pem" 2>/dev/null
}

start() { # start DURABILITY [tls] -> sets URL, SERVER_PID, WORKER_PIDS; 4 no-op workers
  local dir scheme=ws
  local serve_tls=() worker_tls=() curl_tls=()
  if [ "${2:-}" = tls ]; then
    scheme=wss
    serve_tls=(--tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server-key.pem")
    worker_tls=(--ca-cert "$CERTS/ca.pem")
    curl_tls=(--cacert "$CERTS/ca.pem")
  fi
  dir="$(mktemp -d "$WORK/$1.XXXX")"
  SMART_ROUTING_DURABILITY="$1" RUST_LOG=error "$BIN" serve --bind 127.0.0.1:0 \
    --log-dir "$dir/logs" --data-dir "$dir/data" "${serve_tls[@]}" \
    > "$dir/serve.out" 2>"$dir/serve.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do grep -q listening "$dir/serve.out" && break; sleep 0.1; done
  URL="$(sed -n 's/^listening on //p' "$dir/serve.out")"
  local port="${URL##*:}"
  WORKER_PIDS=()
  for i in 1 2 3 4; do
    RUST_LOG=error "$BIN" worker --dispatcher "$scheme://127.0.0.1:$port/worker-listen" \
      "${worker_tls[@]}" --worker-id "noop-$i" --simulate --time-scale 0 --slots 64 \
      --max-labels 1 >/dev/null 2>&1 &
    WORKER_PIDS+=("$!")
    PIDS+=("$!")
  done
  for _ in $(seq 100); do
    [ "$(curl -s "${curl_tls[@]}" "$URL/workers" | grep -o noop- | wc -l)" -eq 4 ] && break
    sleep 0.1
  done
}

start_ceiling() { # start_ceiling BINARY -> sets URL, CEILING_PIDS: examples/ceiling, 4 echo peers
  local peers=() out
  CEILING_PIDS=()
  for i in 1 2 3 4; do
    out="$WORK/ceiling-peer-$i.out"
    "$1" peer --bind 127.0.0.1:0 > "$out" 2>&1 &
    CEILING_PIDS+=("$!")
    for _ in $(seq 300); do grep -q listening "$out" && break; sleep 0.1; done
    peers+=(--peer "$(sed -n 's/^listening on //p' "$out")")
  done
  out="$WORK/ceiling.out"
  "$1" serve --bind 127.0.0.1:0 "${peers[@]}" > "$out" 2>&1 &
  CEILING_PIDS+=("$!")
  PIDS+=("${CEILING_PIDS[@]}")
  for _ in $(seq 300); do grep -q listening "$out" && break; sleep 0.1; done
  URL="$(sed -n 's/^listening on //p' "$out")"
}

stop_ceiling() { # the ceiling and its peers
  kill "${CEILING_PIDS[@]}" 2>/dev/null || true
  wait "${CEILING_PIDS[@]}" 2>/dev/null || true
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
