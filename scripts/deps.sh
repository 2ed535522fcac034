#!/usr/bin/env bash
# Installs what the build (and, with "test", the tests) need on Debian 12,
# only what is missing: apt packages, Node.js if there is none, and the
# pinned npm packages of package-lock.json.
#   scripts/deps.sh run|test|bench   (bench: test's, and Janus for bench/load.js)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-run}
case "$what" in run|test|bench) ;; *) echo "deps: '$what' is not run, test or bench" >&2; exit 2;; esac

pkgs=(build-essential cmake pkg-config libre-dev libmbedtls-dev libsrtp2-dev
      libcjson-dev libsqlite3-dev sqlite3 libhiredis-dev libmongoc-dev
      libbson-dev libssl-dev dpkg-dev curl)
if [ "$what" = test ] || [ "$what" = bench ]; then
  pkgs+=(libcunit1-dev qemu-user gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
         libc6-dev-arm64-cross libc6-dev-armhf-cross chromium iproute2 util-linux
         coturn redis-server nginx-light prometheus libns3-dev python3
         clang-format clang)
fi
[ "$what" = bench ] && pkgs+=(janus libglib2.0-dev)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# libsrtp2 on OpenSSL from Debian's source package (cmake/srtp2.cmake).
scripts/build-srtp.sh

# npm packages, exactly as locked; again only when the lock changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
