#!/usr/bin/env bash
# Every check CI runs: installs what is missing, then fmt, clippy, and the whole test suite
# (unit, integration and end-to-end) with nextest's `ci` profile.
#
# Env: RILL_TEST_SHARED_MONGO=1 makes every test process share one Mongo-wire server started here
# instead of starting its own (MONGODB_URI, if already set, is used as it is). Off by default:
# the Python SecantusDB sweeps every collection of every database under one global lock, so a
# server shared by the whole run slows down as tests add databases, until tests time out.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export RILL_ROOT="$ROOT"
# shellcheck source=lib/deps.sh
. "$ROOT/scripts/lib/deps.sh"
# shellcheck source=lib/procs.sh
. "$ROOT/scripts/lib/procs.sh"

section() { printf '\n==== %s ====\n' "$*"; }
trap 'stop_started; rm -rf "${MONGO_TEST_DIR:-}"' EXIT
# Turn signals into a normal exit so the EXIT trap stops the servers started here.
trap 'exit 130' INT
trap 'exit 143' TERM

section "dependencies"
ensure_redis
ensure_mongo_venv
ensure_node
ensure_nextest
printf 'redis-server %s | python3 %s | node %s | npm %s | %s\n' \
  "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" \
  "$(python3 -c 'import platform; print(platform.python_version())')" \
  "$(node --version)" "$(npm --version)" "$(cargo nextest --version | head -n 1)"

section "cargo fmt --check"
cargo fmt --all --check

section "cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

if [ -f "$ROOT/scripts/sdk-fetch.sh" ]; then
  section "official SDK (scripts/sdk-fetch.sh)"
  bash "$ROOT/scripts/sdk-fetch.sh"
fi

section "build tests"
cargo nextest run --workspace --profile ci --no-run

if [ -z "${MONGODB_URI:-}" ] && [ "${RILL_TEST_SHARED_MONGO:-0}" = 1 ]; then
  section "shared Mongo-wire server for the test run"
  # One server for every test process (each test uses its own database); tests that stop and
  # start a server use MongoServer::start_private() and get their own.
  MONGO_TEST_DIR="$(mktemp -d -t rill-test-mongo.XXXXXX)"
  MONGO_TEST_PORT="$(free_port)"
  start_mongo "$MONGO_TEST_PORT" ":memory:" "$MONGO_TEST_DIR/mongo.log"
  export MONGODB_URI="mongodb://127.0.0.1:$MONGO_TEST_PORT/?directConnection=true"
  echo "MONGODB_URI=$MONGODB_URI"
fi

section "cargo nextest run --workspace (profile ci)"
cargo nextest run --workspace --profile ci
