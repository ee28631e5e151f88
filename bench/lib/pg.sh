# shellcheck shell=bash
# A throwaway PostgreSQL 15 cluster for one scenario (sourced by common.sh).
#
#   pg_start ["setting = value" ...]   initdb in $BENCH_TMP/pg, start on a free loopback port
#                                      (more settings: BENCH_PG_SETTINGS, ";"-separated;
#                                      initdb options: BENCH_PG_INITDB_ARGS, default
#                                      --locale=C.UTF-8 as `fieldsync dev` uses)
#   pg_sql "SQL"                       run SQL in the bench database, print rows (unaligned)
#   pg_stop                            stop it (also done at exit)
#
# After pg_start: PGHOST, PGPORT, PGUSER, PGDATABASE are exported (so psql, pgbench and
# pg_recvlogical need no arguments), BENCH_PG_DSN is a libpq conninfo for fieldsync,
# BENCH_PG_PID the postmaster's pid, BENCH_PG_BIN the server's bin directory.

: "${BENCH_PG_BIN:=/usr/lib/postgresql/15/bin}"
BENCH_PG_DATA=""
BENCH_PG_PID=""

# As root, PostgreSQL's programs run as the postgres system user (the server refuses root).
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  [ -n "$BENCH_TMP" ] || bench_die "pg_start: call bench_init first"
  [ -x "$BENCH_PG_BIN/initdb" ] || bench_die "no PostgreSQL 15 in $BENCH_PG_BIN (bench/setup installs it)"
  BENCH_PG_DATA=$BENCH_TMP/pg
  mkdir -p "$BENCH_PG_DATA"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$BENCH_PG_DATA"; fi
  # shellcheck disable=SC2086 # BENCH_PG_INITDB_ARGS is a list of options
  pg_as_owner "$BENCH_PG_BIN/initdb" -D "$BENCH_PG_DATA" -U postgres --auth=trust -E UTF8 \
    ${BENCH_PG_INITDB_ARGS:---locale=C.UTF-8} >"$BENCH_TMP/initdb.log" 2>&1 || { cat "$BENCH_TMP/initdb.log" >&2; bench_die "initdb failed"; }
  local port
  port=$(bench_free_port)
  # Durable settings (fsync and synchronous commit on, as in production); more memory and
  # WAL than the defaults so that checkpoints do not land in the middle of a measurement.
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$BENCH_PG_DATA'"
    echo "wal_level = logical"
    echo "max_replication_slots = 10"
    echo "max_wal_senders = 10"
    echo "max_connections = 200"
    echo "shared_buffers = 512MB"
    echo "max_wal_size = 8GB"
    echo "checkpoint_timeout = 30min"
    echo "logging_collector = off"
    local s extra=()
    for s in "$@"; do echo "$s"; done
    IFS=';' read -r -a extra <<<"${BENCH_PG_SETTINGS:-}"
    for s in "${extra[@]}"; do echo "$s"; done
  } >>"$BENCH_PG_DATA/postgresql.conf"
  local log=$BENCH_TMP/pg.log
  touch "$log"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$log"; fi
  bench_on_exit pg_stop
  pg_as_owner "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DATA" -l "$log" -w -t 60 start >/dev/null ||
    { tail -20 "$log" >&2; bench_die "PostgreSQL did not start"; }
  BENCH_PG_PID=$(head -1 "$BENCH_PG_DATA/postmaster.pid")
  bench_prioritize "$BENCH_PG_PID"  # pg_ctl starts the postmaster in a session of its own
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench" >/dev/null
  export PGDATABASE=bench
  BENCH_PG_DSN="host=127.0.0.1 port=$port user=postgres dbname=bench"
  export BENCH_PG_DSN BENCH_PG_PID
  bench_log "PostgreSQL $(pg_sql 'SHOW server_version') on 127.0.0.1:$port (pid $BENCH_PG_PID)"
}

pg_stop() {
  [ -n "$BENCH_PG_DATA" ] && [ -f "$BENCH_PG_DATA/postmaster.pid" ] || return 0
  if ! pg_as_owner "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
    # Our own postmaster only: the pid it wrote when we started it.
    if [ -n "$BENCH_PG_PID" ] && kill -0 "$BENCH_PG_PID" 2>/dev/null; then kill -QUIT "$BENCH_PG_PID"; fi
  fi
  BENCH_PG_PID=""
}

# pg_sql SQL: runs SQL (stops at the first error), prints rows as unaligned text.
pg_sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# pg_sql_file FILE [psql -v name=value ...]: runs a SQL file the same way.
pg_sql_file() { local f=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 "$@" -f "$f"; }

# pg_demo_schema: the demo tables (config/demo_schema.sql), empty, without foreign keys.
pg_demo_schema() {
  sed '/^-- fieldsync:after-load/,$d' "$BENCH_ROOT/config/demo_schema.sql" | psql -XAtq -v ON_ERROR_STOP=1 >/dev/null
}
