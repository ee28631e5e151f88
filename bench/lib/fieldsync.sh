# shellcheck shell=bash
# fieldsync serve for one scenario (sourced by common.sh).
#
#   fieldsync_start [TOML]   write a config (free loopback ports, the bench database, an
#                            admin token) plus TOML (collections, [replication] keys, auth
#                            keys ...), start `fieldsync serve`, wait for /healthz
#   fieldsync_status         GET /admin/v1/status (JSON on stdout)
#   fieldsync_stop           SIGTERM, wait for the exit (also done at exit)
#
# After fieldsync_start: FIELDSYNC_PID, FIELDSYNC_URL (http://127.0.0.1:PORT),
# FIELDSYNC_WS_URL (ws://127.0.0.1:PORT/v1/ws), FIELDSYNC_ADMIN_URL, FIELDSYNC_ADMIN_TOKEN,
# FIELDSYNC_CONFIG, FIELDSYNC_LOG. Keys of [server], [database] and [log] are set by the
# generated config: change them with FIELDSYNC_* environment variables instead. Several
# instances may run; the variables name the last one started, and all are stopped at exit.

FIELDSYNC_PID=""
FIELDSYNC_STARTED=0
FIELDSYNC_ALL_PIDS=()
FIELDSYNC_ADMIN_TOKEN=bench-admin-token-0123456789abcdef

fieldsync_start() {
  [ -n "${BENCH_PG_DSN:-}" ] || bench_die "fieldsync_start: call pg_start first"
  local extra=${1:-} port admin n
  n=$((++FIELDSYNC_STARTED))
  port=$(bench_free_port)
  admin=$(bench_free_port)
  FIELDSYNC_CONFIG=$BENCH_TMP/fieldsync-$n.toml
  FIELDSYNC_LOG=$BENCH_TMP/fieldsync-$n.log
  cat >"$FIELDSYNC_CONFIG" <<EOF
[server]
listen = "127.0.0.1:$port"
admin_listen = "127.0.0.1:$admin"
admin_token = "$FIELDSYNC_ADMIN_TOKEN"

[database]
dsn = "$BENCH_PG_DSN"

[log]
level = "${BENCH_FIELDSYNC_LOG_LEVEL:-info}"

$extra
EOF
  "$FIELDSYNC_BIN" serve --config "$FIELDSYNC_CONFIG" >"$FIELDSYNC_LOG" 2>&1 &
  FIELDSYNC_PID=$!
  FIELDSYNC_ALL_PIDS+=("$FIELDSYNC_PID")
  if ((${#FIELDSYNC_ALL_PIDS[@]} == 1)); then bench_on_exit fieldsync_stop_all; fi
  FIELDSYNC_URL=http://127.0.0.1:$port
  FIELDSYNC_WS_URL=ws://127.0.0.1:$port/v1/ws
  FIELDSYNC_ADMIN_URL=http://127.0.0.1:$admin
  export FIELDSYNC_PID FIELDSYNC_URL FIELDSYNC_WS_URL FIELDSYNC_ADMIN_URL FIELDSYNC_ADMIN_TOKEN
  local deadline=$(($(date +%s) + 60))
  until curl -sf "$FIELDSYNC_ADMIN_URL/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$FIELDSYNC_PID" 2>/dev/null; then
      tail -20 "$FIELDSYNC_LOG" >&2
      bench_die "fieldsync exited during start-up"
    fi
    (($(date +%s) < deadline)) || bench_die "fieldsync did not answer /healthz within 60 s"
    sleep 0.05
  done
  bench_log "fieldsync (pid $FIELDSYNC_PID) on $FIELDSYNC_URL, admin $FIELDSYNC_ADMIN_URL"
}

fieldsync_status() {
  curl -sf -H "Authorization: Bearer $FIELDSYNC_ADMIN_TOKEN" "$FIELDSYNC_ADMIN_URL/admin/v1/status"
}

# fieldsync_wait_streaming [TIMEOUT_S]: until the ingest of the last instance streams.
fieldsync_wait_streaming() {
  bench_wait_until "${1:-60}" "fieldsync's ingest to stream" fieldsync_is_streaming
}
fieldsync_is_streaming() {
  [ "$(fieldsync_status | jq -r '.replication.ingest.phase')" = streaming ]
}

# fieldsync_stop [PID]: SIGTERM to that instance (default: the last one), then waits for
# it; SIGKILL after 30 s.
fieldsync_stop() {
  local pid=${1:-$FIELDSYNC_PID} i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
      bench_log "fieldsync $pid did not stop within 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  if [ "$pid" = "$FIELDSYNC_PID" ]; then FIELDSYNC_PID=""; fi
}

fieldsync_stop_all() {
  local pid
  for pid in "${FIELDSYNC_ALL_PIDS[@]}"; do fieldsync_stop "$pid"; done
}

# fieldsync_collections_toml TABLE... : [collections.T] entries (primary key id, public) for
# the named tables; kpis gets its (rep_id, month) key.
fieldsync_collections_toml() {
  local t
  for t in "$@"; do
    printf '[collections.%s]\n' "$t"
    if [ "$t" = kpis ]; then printf 'primary_key = ["rep_id", "month"]\n'; else printf 'primary_key = ["id"]\n'; fi
    printf 'public = true\n\n'
  done
}
