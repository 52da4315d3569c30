#!/usr/bin/env bash
# Shared install logic for run.sh, test.sh and rill-testkit: everything a fresh Debian machine
# lacks is installed here, once, so no script repeats it.
#
# Source it (`. scripts/lib/deps.sh`) to get the functions, or run it:
#   bash scripts/lib/deps.sh mongo-venv      # the SecantusDB venv only (used by rill-testkit)
#   bash scripts/lib/deps.sh all             # everything test.sh needs
set -euo pipefail

RILL_ROOT="${RILL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# The Mongo-wire test server (see shared/mongo.md). Pinned: a later beta may change behaviour.
SECANTUS_PACKAGE="secantusdb==0.7.0b3"
MONGO_VENV="$RILL_ROOT/.tools/mongo-venv"
# Written last by a successful install; rill-testkit checks for the same file.
MONGO_VENV_READY="$MONGO_VENV/.rill-ready"

log() { printf '[deps] %s\n' "$*" >&2; }

# apt-get update runs at most once per process, and only when something is missing.
_APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "apt-get not found; install these by hand: $*"
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  if [ "$_APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    _APT_UPDATED=1
  fi
  log "apt-get install $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  # The system package enables a service on 6379; Rill never uses it, but leave it as it is.
}

ensure_python_venv() {
  command -v python3 >/dev/null 2>&1 || apt_install python3
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
}

ensure_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
  apt_install nodejs npm
}

# Installs SecantusDB into .tools/mongo-venv. Safe to call from many processes at once: an
# exclusive flock serialises installers, and the ready marker makes every later call a no-op.
ensure_mongo_venv() {
  [ -f "$MONGO_VENV_READY" ] && return 0
  ensure_python_venv
  mkdir -p "$RILL_ROOT/.tools"
  (
    flock -x 9
    if [ -f "$MONGO_VENV_READY" ]; then exit 0; fi
    log "installing $SECANTUS_PACKAGE into $MONGO_VENV"
    rm -rf "$MONGO_VENV"
    python3 -m venv "$MONGO_VENV"
    "$MONGO_VENV/bin/pip" install -q "$SECANTUS_PACKAGE"
    test -x "$MONGO_VENV/bin/secantusd-py"
    touch "$MONGO_VENV_READY"
  ) 9>"$RILL_ROOT/.tools/mongo-venv.lock"
}

# The Rust build of the same Mongo-wire server (`secantusd-rs`, crate secantus-mdb), about ten
# times faster than secantusd-py: benchmarks use it so the store is not what they measure (see
# shared/mongo.md). Built once into .tools/bin (about 8 minutes on 2 cores; needs cmake). The
# crate declares rust-version 1.98; the pinned version builds on 1.95 with --ignore-rust-version.
SECANTUS_RS_VERSION="0.5.3-beta.196"
SECANTUS_RS_BIN="$RILL_ROOT/.tools/bin/secantusd-rs"
ensure_secantus_rs() {
  [ -x "$SECANTUS_RS_BIN" ] && return 0
  command -v cmake >/dev/null 2>&1 || apt_install cmake
  mkdir -p "$RILL_ROOT/.tools"
  (
    flock -x 9
    if [ -x "$SECANTUS_RS_BIN" ]; then exit 0; fi
    log "cargo install secantus-mdb $SECANTUS_RS_VERSION into $RILL_ROOT/.tools (about 8 minutes)"
    cargo install -q secantus-mdb --version "$SECANTUS_RS_VERSION" --locked \
      --ignore-rust-version --root "$RILL_ROOT/.tools"
  ) 9>"$RILL_ROOT/.tools/secantus-rs.lock"
}

ensure_nextest() {
  command -v cargo-nextest >/dev/null 2>&1 && return 0
  log "cargo install cargo-nextest"
  cargo install --locked cargo-nextest
}

# Waits until something accepts TCP connections on 127.0.0.1:$1 (up to $2 tenths of a second).
wait_port() {
  local port="$1" tries="${2:-300}" i
  for ((i = 0; i < tries; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# True when something already listens on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free loopback port picked by the kernel (never 6379: the ephemeral range excludes it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-all}" in
    mongo-venv) ensure_mongo_venv ;;
    secantus-rs) ensure_secantus_rs ;;
    redis) ensure_redis ;;
    node) ensure_node ;;
    all) ensure_redis; ensure_mongo_venv; ensure_node; ensure_nextest ;;
    *) echo "usage: $0 [mongo-venv|secantus-rs|redis|node|all]" >&2; exit 2 ;;
  esac
fi
