#!/usr/bin/env bash
# Runs the whole `rill bench` suite on this machine and prints one table (scenario, result,
# target, ratio to the ceiling of the same run). Self-contained: a private redis-server and
# Mongo-wire server, and the server as a child `rill serve` (so its RSS is its own), all on
# loopback. Release build. Sized to finish in well under 10 minutes on 2 cores.
#
#   scripts/bench.sh                         # the suite
#   scripts/bench.sh --aof                   # Redis with appendfsync always (production setting)
#   scripts/bench.sh -- --send-messages 500000 --fanout-members 2000   # suite options
#
# Arguments before `--` go to `rill bench` (target options), after it to `rill bench suite`.
# The private Mongo-wire server is secantusd-rs (built into .tools/bin on the first run, about 8
# minutes; BENCH_MONGO=auto uses mongod or the slower secantusd-py instead). MONGODB_URI, if
# set, is used instead of starting one. Benchmarks never run in CI;
# services/rill/tests/bench_smoke.rs is their smoke test.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export RILL_ROOT="$ROOT"
# shellcheck source=lib/deps.sh
. "$ROOT/scripts/lib/deps.sh"
ensure_redis
mongo="${BENCH_MONGO:-secantusd-rs}"
if [ -z "${MONGODB_URI:-}" ]; then
  case "$mongo" in
    secantusd-rs) ensure_secantus_rs ;;
    *) ensure_mongo_venv ;;
  esac
fi

target_args=()
suite_args=()
seen_sep=0
for a in "$@"; do
  if [ "$seen_sep" -eq 0 ] && [ "$a" = "--" ]; then seen_sep=1; continue; fi
  if [ "$seen_sep" -eq 0 ]; then target_args+=("$a"); else suite_args+=("$a"); fi
done

# Each connection is one descriptor in the tool and one in the server; both processes share the
# limit. Raise the soft limit as far as allowed, then size the connections run to fit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
files=$(ulimit -n)
connections=20000
if [ "$files" != "unlimited" ] && [ "$files" -lt $((connections + 500)) ]; then
  connections=$((files - 500))
  echo "bench: open-files limit is $files (hard), so the connections run opens $connections, not 20000" >&2
fi

cargo build --release -p rill >&2
# cargo puts the binary under CARGO_TARGET_DIR when that is set.
rill_bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/rill"
# The server's own logs go to a file (child mode); keep the tool's output to the results.
export RUST_LOG="${RUST_LOG:-warn}"

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "command: target/release/rill bench --self-contained --server child --mongo $mongo ${target_args[*]:-} suite --connections $connections ${suite_args[*]:-}"
exec "$rill_bin" bench --self-contained --server child --mongo "$mongo" "${target_args[@]}" \
  suite --connections "$connections" "${suite_args[@]}"
