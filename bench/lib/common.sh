# shellcheck shell=bash
# Shared helpers for bench scenarios (bench/README.md documents them).
#
#   source "$(dirname "$0")/../lib/common.sh"   # also sources pg.sh and fieldsync.sh
#   bench_init myscenario                       # temp dir, cleanup trap
#
# Everything a scenario starts through these helpers is stopped by pid when the scenario
# exits, however it exits. Diagnostics go to stderr; stdout carries only result lines.

if [ -n "${BENCH_LIB_LOADED:-}" ]; then return 0; fi
BENCH_LIB_LOADED=1

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${FIELDSYNC_BIN:=$BENCH_ROOT/build/release/server/fieldsync}"
BENCH_SCENARIO=${BENCH_SCENARIO:-$(basename "$0")}
BENCH_TMP=""
BENCH_CLEANUP=()

bench_log() { printf '[%s %s] %s\n' "$BENCH_SCENARIO" "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# bench_on_exit CMD: runs CMD (with eval) when the scenario exits, last registered first.
bench_on_exit() { BENCH_CLEANUP+=("$1"); }

bench_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#BENCH_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${BENCH_CLEANUP[i]}" || true
  done
  if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ] && [ -z "${BENCH_KEEP_TMP:-}" ]; then
    rm -rf "$BENCH_TMP"
  fi
  exit "$rc"
}

# bench_init NAME: names the scenario in results and logs, makes $BENCH_TMP (removed at
# exit unless BENCH_KEEP_TMP is set) and installs the cleanup trap.
bench_init() {
  BENCH_SCENARIO=$1
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldsync-bench-$1.XXXXXX")
  # As root PostgreSQL runs as postgres, which must get through to its directory.
  chmod 755 "$BENCH_TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ -x "$FIELDSYNC_BIN" ] || bench_die "no fieldsync binary at $FIELDSYNC_BIN (bench/run builds it)"
  bench_prioritize $$
}

# bench_prioritize PID: gives the scheduler autogroup (session) of PID the priority
# BENCH_NICE (bench/run sets it; as root only). Linux shares the CPU between sessions
# first, so niceness inside a session does nothing against another session's builds.
bench_prioritize() {
  local n=${BENCH_NICE:-0}
  if [ "$n" != 0 ] && [ "$(id -u)" -eq 0 ] && [ -w "/proc/$1/autogroup" ]; then
    echo "$n" >"/proc/$1/autogroup" 2>/dev/null || true
  fi
}

# bench_free_port: a TCP port nobody listens on at 127.0.0.1 (not handed out twice here).
BENCH_PORTS_GIVEN=" "
bench_free_port() {
  local p tries=0
  while ((tries++ < 200)); do
    p=$((20000 + RANDOM % 40000))
    case "$BENCH_PORTS_GIVEN" in *" $p "*) continue ;; esac
    if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ]; then
      BENCH_PORTS_GIVEN+="$p "
      echo "$p"
      return 0
    fi
  done
  bench_die "no free port found"
}

# bench_now: seconds since the epoch with nanoseconds, for timing.
bench_now() { date +%s.%N; }

# bench_elapsed START [END]: seconds between two bench_now readings (END: now).
bench_elapsed() { awk -v a="$1" -v b="${2:-$(bench_now)}" 'BEGIN { printf "%.6f", b - a }'; }

# bench_div A B: A / B as a decimal number (0 when B is 0).
bench_div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.3f", a / b }'; }

# bench_wait_until TIMEOUT_S DESCRIPTION CMD...: polls CMD (every 50 ms) until it succeeds;
# dies after TIMEOUT_S seconds.
bench_wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if (($(date +%s) >= deadline)); then bench_die "timed out after ${timeout}s waiting for $what"; fi
    sleep 0.05
  done
}

# bench_result key=value ...: prints one result line (a JSON object) on stdout.
# Keys: metric (required), value (required, a number), limit_name, limit (a number),
# target (e.g. "ratio>=0.5", "value>=50000", several joined by ","), unit, and any extra
# keys (kept as strings unless they look like numbers).
bench_result() {
  local args=(--arg scenario "$BENCH_SCENARIO") filter='{scenario: $scenario}' kv k v
  for kv in "$@"; do
    k=${kv%%=*}; v=${kv#*=}
    [[ "$k" =~ ^[a-z_][a-z0-9_]*$ ]] || bench_die "bench_result: bad key '$k'"
    if [[ "$v" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
      args+=(--argjson "$k" "$v")
    else
      case "$k" in value | limit) bench_die "bench_result: $k=$v is not a number" ;; esac
      args+=(--arg "$k" "$v")
    fi
    filter+=" + {$k: \$$k}"
  done
  jq -cn "${args[@]}" "$filter"
}

# bench_jwt_hs256 SECRET CLAIMS_JSON [KID]: a signed HS256 JWT (exp is the caller's).
bench_jwt_hs256() {
  local secret=$1 claims=$2 kid=${3:-}
  local header='{"alg":"HS256","typ":"JWT"}'
  if [ -n "$kid" ]; then header=$(jq -cn --arg k "$kid" '{alg:"HS256",typ:"JWT",kid:$k}'); fi
  b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  local body
  body="$(printf '%s' "$header" | b64url).$(printf '%s' "$claims" | b64url)"
  printf '%s.%s\n' "$body" "$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)"
}

source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
source "$(dirname "${BASH_SOURCE[0]}")/fieldsync.sh"
