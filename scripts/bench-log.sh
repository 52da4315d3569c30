#!/usr/bin/env bash
# Append throughput of the log (FCALL rill_v1_append: dedup + 2 XADDs) against raw XADD on the
# same private Redis, at 1, 8 and 64 concurrent tasks, with AOF `appendfsync always` and AOF off.
# Starts its own redis-server instances on free loopback ports (never 6379) and removes them.
#
#   scripts/bench-log.sh                 # defaults: OPS=20000 per cell, MAX_SECONDS=20 per cell
#   OPS=5000 MAX_SECONDS=5 TASKS=1,8,64 scripts/bench-log.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OPS="${OPS:-20000}"
MAX_SECONDS="${MAX_SECONDS:-20}"
TASKS="${TASKS:-1,8,64}"

command -v redis-server >/dev/null || { echo "redis-server not on PATH" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli not on PATH" >&2; exit 1; }

cargo build --release --quiet -p rill-log --example bench_append
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_append"

WORK="$(mktemp -d -t rill-bench-log-XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis <name> <extra args...>: sets PORT (runs in this shell so PIDS is kept)
start_redis() {
  local name="$1"; shift
  local dir="$WORK/$name" port
  mkdir -p "$dir"
  for _ in 1 2 3 4 5; do
    port="$(free_port)"
    [ "$port" = 6379 ] && continue
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --daemonize no \
      --logfile "$dir/redis.log" "$@" </dev/null >/dev/null 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 100); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then PORT="$port"; return 0; fi
      sleep 0.05
    done
  done
  echo "could not start redis-server ($name)" >&2
  return 1
}

start_redis aof-always --appendonly yes --appendfsync always; ALWAYS_PORT="$PORT"
start_redis aof-off --appendonly no; OFF_PORT="$PORT"

echo "bench-log: ops per cell ${OPS}, at most ${MAX_SECONDS}s per cell, tasks ${TASKS}; $(nproc) cores; $(redis-server --version | cut -d' ' -f3)"
"$BIN" \
  --target "aof always=redis://127.0.0.1:${ALWAYS_PORT}/" \
  --target "aof off=redis://127.0.0.1:${OFF_PORT}/" \
  --tasks "$TASKS" --ops "$OPS" --max-seconds "$MAX_SECONDS"
