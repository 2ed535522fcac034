#!/usr/bin/env bash
# Builds libsrtp2 with the OpenSSL crypto backend from Debian's own source
# package, for this machine or for an ARM sysroot, and installs it under
# .deps/<triple>/ where CMake looks for it (MEESHY_SRTP=openssl, the default).
#
# Why: Debian's libsrtp2 is built on NSS, whose AES-CM and HMAC-SHA1 cost
# 5.6 us per 1200-byte packet here; the same source on libcrypto (AES-NI and
# SHA extensions on x86, NEON and the ARMv8 crypto extensions on ARM) costs
# 1.3 us. DTLS stays on mbedTLS; only SRTP's ciphers come from libcrypto.
#
# usage: scripts/build-srtp.sh [amd64|arm64|armhf [SYSROOT]]
#   no argument: this machine's architecture.
#   SYSROOT (cross builds only): a sysroot made by toolchains/make-sysroot.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
native=$(dpkg --print-architecture)
arch=${1:-$native}
sysroot=${2:-}
case "$arch" in
  amd64) triple=x86_64-linux-gnu ;;
  arm64) triple=aarch64-linux-gnu ;;
  armhf) triple=arm-linux-gnueabihf ;;
  *) echo "build-srtp: '$arch' is not amd64, arm64 or armhf" >&2; exit 2 ;;
esac
if [ "$arch" != "$native" ] && [ ! -f "$sysroot/usr/include/openssl/evp.h" ]; then
  echo "build-srtp: cross build for $arch needs a sysroot with libssl-dev" \
       "(toolchains/make-sysroot.sh $arch DIR); got '$sysroot'" >&2
  exit 2
fi

deps=$PWD/.deps
prefix=$deps/$triple
stamp=$prefix/.stamp
src_dir=$deps/src
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo

# The source, once for every architecture: Debian's orig tarball with
# Debian's patches applied by dpkg-source.
fetch_source() {
  mkdir -p "$src_dir"
  if ls -d "$src_dir"/libsrtp2-*/ >/dev/null 2>&1; then return; fi
  if ! apt-get source --print-uris libsrtp2 >/dev/null 2>&1; then
    enable_deb_src
  fi
  command -v dpkg-source >/dev/null || \
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dpkg-dev >/dev/null
  # (apt warns that root downloads unsandboxed: that is expected here)
  (cd "$src_dir" && apt-get source -qq libsrtp2 >/dev/null 2>&1) || {
    echo "build-srtp: 'apt-get source libsrtp2' failed in $src_dir" >&2; exit 1; }
}

# apt-get source needs deb-src entries: make them from the deb entries this
# machine already uses, so no mirror is named here.
enable_deb_src() {
  local out=/etc/apt/sources.list.d/meeshy-deb-src.sources
  local list=/etc/apt/sources.list.d/meeshy-deb-src.list
  echo "build-srtp: adding deb-src entries beside this machine's deb entries"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
      | $sudo tee "$out" >/dev/null
  fi
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list | $sudo tee "$list" >/dev/null
  fi
  $sudo apt-get update -qq
  if ! apt-get source --print-uris libsrtp2 >/dev/null 2>&1; then
    echo "build-srtp: apt has no source for libsrtp2 even with deb-src entries" \
         "($out); check /etc/apt/sources.list*" >&2
    exit 1
  fi
}

fetch_source
src=$(ls -d "$src_dir"/libsrtp2-*/ | head -1)
version=$(basename "$src")
want="$version openssl $triple $sysroot"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$prefix/lib/libsrtp2.a" ]; then
  exit 0
fi

echo "build-srtp: building $version with OpenSSL for $triple"
work=$deps/build-$triple
rm -rf "$work" "$prefix"
cp -a "$src" "$work"
cd "$work"
cross=()
if [ "$arch" != "$native" ]; then
  cross=(--host="$triple" CC="$triple-gcc --sysroot=$sysroot"
         --with-openssl-dir="$sysroot/usr")
fi
./configure -q --enable-openssl --prefix="$prefix" "${cross[@]}" CFLAGS="-O2 -fPIC -g" \
  >configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }
make -s -j"$(nproc)" libsrtp2.a >make.log 2>&1 || { tail -20 make.log >&2; exit 1; }
mkdir -p "$prefix/lib" "$prefix/include/srtp2"
cp libsrtp2.a "$prefix/lib/"
cp include/srtp.h crypto/include/auth.h crypto/include/cipher.h \
   crypto/include/crypto_types.h "$prefix/include/srtp2/"
echo "$want" > "$stamp"
echo "build-srtp: $prefix/lib/libsrtp2.a"
