#!/usr/bin/env bash
# Start/stop helpers for the backing servers of run.sh and test.sh. Source after deps.sh.
# Servers are started as plain commands (never `cd x && server &`), so `$!` is the server's own
# pid, and under `setsid`, so a Ctrl-C in the terminal reaches `rill` first and the stores are
# stopped only after it has finished its shutdown.

# PIDs we started, stopped in reverse order by stop_started.
STARTED_PIDS=()

# start_bg NAME LOGFILE CMD ARGS... : runs CMD in the background, records its pid in $LAST_PID.
start_bg() {
  local name="$1" logfile="$2"
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  LAST_PID=$!
  STARTED_PIDS+=("$LAST_PID")
  log "$name started (pid $LAST_PID, log $logfile)"
}

# stop_pid PID [TIMEOUT_TENTHS]: SIGTERM, wait, SIGKILL after the timeout.
stop_pid() {
  local pid="$1" tries="${2:-200}" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < tries; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid ignored SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_started() {
  local i
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${STARTED_PIDS[$i]}"
  done
  STARTED_PIDS=()
}

# wait_started NAME PID PORT LOGFILE: waits until PORT accepts connections, failing early (with
# the log's tail) if the process dies.
wait_started() {
  local name="$1" pid="$2" port="$3" logfile="$4" i
  for ((i = 0; i < 1200; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    if port_in_use "$port"; then return 0; fi
    sleep 0.1
  done
  log "$name not listening on $port after 120 s; last lines of $logfile:"
  tail -n 30 "$logfile" >&2 || true
  return 1
}

# start_redis PORT DIR [extra redis-server args...]: AOF with appendfsync always.
start_redis() {
  local port="$1" dir="$2"
  shift 2
  if [ "$port" = 6379 ]; then
    log "refusing port 6379: that is the machine's own Redis"
    return 1
  fi
  if port_in_use "$port"; then
    log "port $port is already in use; set RILL_REDIS_PORT to another port"
    return 1
  fi
  mkdir -p "$dir"
  start_bg redis "$dir/redis.log" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
    --appendonly yes --appendfsync always --save "" --daemonize no --logfile "" "$@"
  wait_started redis "$LAST_PID" "$port" "$dir/redis.log"
  REDIS_PID=$LAST_PID
}

# start_mongo PORT STORAGE LOGFILE: mongod from PATH if present, else SecantusDB.
# STORAGE is a directory or `:memory:` (SecantusDB only).
start_mongo() {
  local port="$1" storage="$2" logfile="$3"
  if port_in_use "$port"; then
    log "port $port is already in use; set RILL_MONGO_PORT to another port"
    return 1
  fi
  if [ "$storage" != ":memory:" ]; then mkdir -p "$storage"; fi
  mkdir -p "$(dirname "$logfile")"
  if command -v mongod >/dev/null 2>&1 && [ "$storage" != ":memory:" ]; then
    start_bg mongod "$logfile" mongod --dbpath "$storage" --port "$port" --bind_ip 127.0.0.1 --quiet
  else
    ensure_mongo_venv
    start_bg secantusd-py "$logfile" "$MONGO_VENV/bin/secantusd-py" --host 127.0.0.1 \
      --port "$port" --storage-path "$storage" --cache-size 256M --log-level WARNING
  fi
  wait_started mongo "$LAST_PID" "$port" "$logfile"
  MONGO_PID=$LAST_PID
}
