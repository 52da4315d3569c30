#!/usr/bin/env bash
# Fetches the two official OpenIM clients the end-to-end tests drive (see tests/sdk/):
#  - the Go SDK core built as a C library (libopenimsdk.so, core v3.8.3-patch.15), shipped inside
#    the npm package @openim/electron-client-sdk@3.8.3-patch.15.1. Only `npm pack` + tar: an
#    `npm install` of that package would pull electron, whose postinstall downloads from GitHub.
#  - the pure-JS SDK @openim/client-sdk@0.0.14 (npm install into its own folder).
# Usage: scripts/sdk-fetch.sh [DIR]   (default <repo>/target/openim-clients). Idempotent: a second
# run with both clients present only re-checks the sha256 and returns.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/target/openim-clients}
core_pkg=@openim/electron-client-sdk@3.8.3-patch.15.1
core_tgz=openim-electron-client-sdk-3.8.3-patch.15.1.tgz
core_rel=package/assets/linux_x64/libopenimsdk.so
core_sha=5bca1c79ee4e647725825b864f3474fe61e8e468b3a905ce055e83ef61dc67d1
js_pkg=@openim/client-sdk
js_ver=0.0.14

mkdir -p "$dir"
# Parallel test processes may all find the clients missing: one fetches, the others wait.
exec 9>"$dir/.fetch.lock"
flock 9
lib=$dir/$core_rel
if ! echo "$core_sha  $lib" | sha256sum -c --status 2>/dev/null; then
  echo "sdk-fetch: fetching $core_pkg" >&2
  tmp=$(mktemp -d "$dir/.pack.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$core_pkg" >/dev/null && tar xzf "$core_tgz" "$core_rel")
  if ! echo "$core_sha  $tmp/$core_rel" | sha256sum -c --status; then
    echo "sdk-fetch: sha256 mismatch for $core_rel from $core_pkg" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$lib")"
  mv "$tmp/$core_rel" "$lib"
fi

js=$dir/js
have=$(node -p "require('$js/node_modules/$js_pkg/package.json').version" 2>/dev/null || true)
if [ "$have" != "$js_ver" ]; then
  echo "sdk-fetch: installing $js_pkg@$js_ver" >&2
  mkdir -p "$js"
  [ -f "$js/package.json" ] || echo '{"name":"rill-openim-js-client","private":true}' >"$js/package.json"
  (cd "$js" && npm install --no-audit --no-fund --silent "$js_pkg@$js_ver" >/dev/null)
fi

echo "$lib"
