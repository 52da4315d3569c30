#!/usr/bin/env bash
# History projection throughput (messages/s from the partition logs into MongoDB) and replay
# throughput, against the same Mongo-wire server's raw insert_many throughput in the same run;
# prints a table with the ratio to the raw baseline.
#
# Starts its own redis-server on a free loopback port (never 6379) and uses rill-testkit's
# Mongo-wire server: MONGODB_URI if set, else mongod on PATH, else SecantusDB (installed into
# .tools on first use). Both are stopped when the benchmark exits.
#
#   scripts/bench-projection.sh                       # 20,000 messages, 100 conversations
#   MESSAGES=5000 CONVERSATIONS=50 scripts/bench-projection.sh
#   PROFILE=dev scripts/bench-projection.sh           # skip the release build (slower numbers)
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES="${MESSAGES:-20000}"
CONVERSATIONS="${CONVERSATIONS:-100}"
BATCH="${BATCH:-256}"
PROFILE="${PROFILE:-release}"

command -v redis-server >/dev/null || { echo "redis-server not on PATH" >&2; exit 1; }

if [ "$PROFILE" = release ]; then
  cargo build --release --quiet -p rill-history --example bench_projection
  BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_projection"
else
  cargo build --quiet -p rill-history --example bench_projection
  BIN="${CARGO_TARGET_DIR:-target}/debug/examples/bench_projection"
fi

"$BIN" --messages "$MESSAGES" --conversations "$CONVERSATIONS" --batch "$BATCH"
