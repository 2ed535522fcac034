#!/usr/bin/env bash
# Runs the Engine.IO and Socket.IO protocols' own test suites (test-suite/
# of the public repositories socketio/engine.io-protocol and
# socketio/socket.io-protocol; they are not on npm and not in this repo)
# against tests/conformance/conformance-server, built from our library:
#   scripts/protocol-suites.sh ENGINE_IO_SUITE_DIR SOCKET_IO_SUITE_DIR
# Each directory is a copy of a repository's test-suite/ folder; it is
# copied again to a temporary folder, where its npm devDependencies are
# installed (npm ci), so the given folder is not written to. The suites
# expect their server on localhost:3000: the port must be free.
# CI does not run this (the suites are not here); it runs
# tests/integration/conformance.test.js, which checks what they check.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
for d in "$@"; do
  [ -f "$d/test-suite.js" ] && [ -f "$d/package-lock.json" ] ||
    { echo "protocol-suites: '$d' is not a suite's test-suite/ folder" >&2; exit 2; }
done
cmake -S . -B build -DBUILD_TESTING=ON -DMEESHY_INTEGRATION=ON >/dev/null
cmake --build build -j"$(nproc)" --target conformance-server
work=$(mktemp -d)
server=
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
build/tests/conformance/conformance-server --listen 127.0.0.1:3000 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q listening "$work/server.log" && break; sleep 0.1; done
grep -q listening "$work/server.log" || { cat "$work/server.log" >&2; exit 1; }
rc=0
for d in "$@"; do
  name=$(basename "$(cd "$d/.." && pwd)")
  cp -r "$d" "$work/$name"
  echo "=== $name: npm ci, mocha"
  (cd "$work/$name" && npm ci --no-audit --no-fund --silent &&
   NODE_OPTIONS=--dns-result-order=ipv4first npx mocha test-suite.js) || rc=1
done
exit $rc
