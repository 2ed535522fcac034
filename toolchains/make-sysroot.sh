#!/usr/bin/env bash
# Builds a cross sysroot for ARCH (arm64 or armhf) from Debian's own .debs.
#
# Why not multiarch: libsrtp2-dev, libmongoc-dev and libbson-dev cannot be
# installed for arm64 beside amd64 (apt removes the amd64 ones). So we only
# *download* the foreign packages and unpack them into a folder; nothing of
# the host changes except that dpkg learns the foreign architecture exists.
#
# usage: toolchains/make-sysroot.sh ARCH OUTDIR
set -euo pipefail
arch=${1:?usage: make-sysroot.sh arm64|armhf OUTDIR}
out=${2:?usage: make-sysroot.sh arm64|armhf OUTDIR}
case "$arch" in arm64|armhf) ;; *) echo "make-sysroot: '$arch' is not arm64 or armhf" >&2; exit 2;; esac

# Libraries core/, port/, signaling/ and storage/ link, with the libraries
# those need at run time under qemu.
pkgs="libc6 libc6-dev linux-libc-dev libgcc-s1
      libre0 libre-dev libssl3 libssl-dev zlib1g
      libmbedcrypto7 libmbedtls14 libmbedx509-1 libmbedtls-dev
      libsrtp2-1 libsrtp2-dev libnspr4 libnss3
      libcjson1 libcjson-dev libsqlite3-0 libsqlite3-dev
      libcunit1 libcunit1-dev libhiredis0.14 libhiredis-dev"

stamp="$out/.stamp"
want="$(echo $pkgs | tr ' ' '\n' | sort | tr '\n' ' ')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  dpkg --add-architecture "$arch"
  apt-get update -qq 2>/dev/null || true
fi
if ! apt-cache show "libre0:$arch" >/dev/null 2>&1; then
  apt-get update -qq 2>/dev/null || true
fi

debs="$out.debs"
mkdir -p "$debs" "$out"
(
  cd "$debs"
  for p in $pkgs; do
    ls "${p}"_*_"$arch".deb >/dev/null 2>&1 || ls "${p}"_*_all.deb >/dev/null 2>&1 \
      || apt-get download -q "$p:$arch" >/dev/null 2>&1
  done
)
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$out"; done

# Debian's .so links and linker scripts are absolute; make them relative to
# the sysroot so the cross linker and qemu -L find the foreign files.
find "$out" -type l | while read -r l; do
  t=$(readlink "$l")
  case "$t" in /*) ln -sfn "$out$t" "$l" ;; esac
done
echo "$want" > "$stamp"
echo "sysroot for $arch ready in $out"
