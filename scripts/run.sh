#!/usr/bin/env bash
# Builds meeshy-call and runs it on the embedded default: role all, the
# SQLite store in ./var, no external service. Prints the demo page's URL.
#   scripts/run.sh [meeshy-call options...]
# Without MEESHY_JWT_SECRET (or --jwt-secret-file) it runs with --dev-auth,
# where any token is a guest id: right for a demo, wrong for production.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p var
auth=()
if [ -z "${MEESHY_JWT_SECRET:-}" ] && [ -z "${MEESHY_JWT_SECRET_FILE:-}" ] \
   && [[ " $* " != *" --jwt-secret-file "* ]]; then
  auth=(--dev-auth)
fi
exec build/apps/meeshy-call/meeshy-call --role all --db var/meeshy.db \
  --archive-dir var/archive --web-root build/web "${auth[@]}" "$@"
