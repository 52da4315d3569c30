#!/usr/bin/env bash
# Runs Rill on this machine: its own Redis (AOF, appendfsync always) and a MongoDB-wire server,
# both on loopback with data under .data/, then `rill serve` in the foreground. Ctrl-C stops
# everything this script started. Installs redis-server and SecantusDB if missing.
#
#   scripts/run.sh                 # every service
#   scripts/run.sh api gateway     # a subset (arguments go to `rill serve`)
#
# Env: RILL_REDIS_PORT (6380), RILL_MONGO_PORT (27018). Setting RILL_REDIS_URL or
# RILL_MONGODB_URI uses that server instead of starting one. Port 6379 (the machine's own
# Redis) is never used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export RILL_ROOT="$ROOT"
# shellcheck source=lib/deps.sh
. "$ROOT/scripts/lib/deps.sh"
# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

REDIS_PORT="${RILL_REDIS_PORT:-6380}"
MONGO_PORT="${RILL_MONGO_PORT:-27018}"
DATA="$ROOT/.data"
RILL_PID=""

shutdown() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$RILL_PID" ] && kill -0 "$RILL_PID" 2>/dev/null; then
    log "stopping rill (pid $RILL_PID)"
    # `rill serve` shuts down gracefully on SIGINT (it finishes and acks the batches in hand).
    kill -INT "$RILL_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 300; i++)); do
      kill -0 "$RILL_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$RILL_PID" 2>/dev/null || true
    wait "$RILL_PID" 2>/dev/null || true
  fi
  stop_started
  exit "$rc"
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== dependencies"
if [ -z "${RILL_REDIS_URL:-}" ]; then ensure_redis; fi
if [ -z "${RILL_MONGODB_URI:-}" ] && ! command -v mongod >/dev/null 2>&1; then ensure_mongo_venv; fi

if [ -z "${RILL_REDIS_URL:-}" ]; then
  echo "== redis on 127.0.0.1:$REDIS_PORT (AOF always, $DATA/redis)"
  start_redis "$REDIS_PORT" "$DATA/redis"
  export RILL_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
fi
if [ -z "${RILL_MONGODB_URI:-}" ]; then
  echo "== mongo-wire server on 127.0.0.1:$MONGO_PORT ($DATA/mongo)"
  start_mongo "$MONGO_PORT" "$DATA/mongo" "$DATA/mongo.log"
  export RILL_MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true"
fi

echo "== cargo build --release -p rill"
cargo build --release -p rill

echo "== rill serve $* (redis $RILL_REDIS_URL, mongo $RILL_MONGODB_URI)"
# In the background so the traps above can forward Ctrl-C / SIGTERM and then stop the stores.
# cargo puts the binary under CARGO_TARGET_DIR when that is set.
"${CARGO_TARGET_DIR:-$ROOT/target}/release/rill" serve "$@" &
RILL_PID=$!
set +e
wait "$RILL_PID"
rc=$?
set -e
RILL_PID=""
exit "$rc"
