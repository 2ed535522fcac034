#!/usr/bin/env bash
# Builds meeshy-call and runs it on the embedded default: role all, the
# SQLite store in ./var, no external service. Prints the demo page's URL.
# It builds in build-run/, a folder of its own: scripts/test.sh's build/
# and this one never see each other's settings.
#   scripts/run.sh [meeshy-call options...]
# Without MEESHY_JWT_SECRET (or --jwt-secret-file) it runs with --dev-auth,
# where any token is a guest id: right for a demo, wrong for production.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
      -DMEESHY_SANITIZE= -DMEESHY_WITH_NS3=OFF >/dev/null
cmake --build build-run -j"$(nproc)" >/dev/null
mkdir -p var
auth=()
if [ -z "${MEESHY_JWT_SECRET:-}" ] && [ -z "${MEESHY_JWT_SECRET_FILE:-}" ] \
   && [[ " $* " != *" --jwt-secret-file "* ]]; then
  auth=(--dev-auth)
fi
exec build-run/apps/meeshy-call/meeshy-call --role all --db var/meeshy.db \
  --archive-dir var/archive --web-root build-run/web "${auth[@]}" "$@"
