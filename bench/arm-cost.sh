#!/usr/bin/env bash
# Instructions the real media path executes, per CPU and per crypto path:
# bench/media-cost's --one mode (one configuration a run, untimed) under
# qemu-user with the instruction-counting plugin of Debian's own qemu
# source (tests/plugin/insn.c), for aarch64, armhf and x86-64.
#
# qemu's timings mean nothing; its instruction counts do. Counts of two
# runs that differ in one thing split by difference, so start-up and key
# set-up cancel:
#   per packet in  = (C(N2) - C(N1)) / (3 (N2 - N1))   media-cost runs 3 passes
#   per copy out   = (per packet in at fanout 8 - at fanout 1) / 7
#   server's rx    = per packet in at fanout 1 - a copy - the browser's protect
#   per packet peeked (a simulcast layer nobody gets, taken on its header)
#                  = per packet of "--one peek" - the browser's protect
#   per handshake  = (C(3 runs) - C(1 run)) / 2        both ends of DTLS
#   per byte of AES-128-CTR, of SHA-1 (bench/crypto-count: OpenSSL alone)
#                  = (C(4096 B) - C(256 B)) / (N1 * 3840)
# Socket I/O is the kernel's: qemu-user does not see it (bench/media-cost
# measures it natively).
#
# OpenSSL picks its code from the CPU's features; each path a box would run
# is counted apart: "ce" (ARMv8 crypto extensions: Pi 5's Cortex-A76,
# Neoverse-N1), "neon" (OPENSSL_armcap=1: Pi 4's Cortex-A72, which has
# none), and x86-64 under qemu's "max" CPU (AES-NI; qemu 7.2 has no SHA
# extensions, so SHA-1 runs its SSSE3/AVX2 code).
#
#   bench/arm-cost.sh [--out FILE.json]     (default: docs/arm-cost.json, then
#                                            bench/arm_model.py --measure)
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/arm-cost.json
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a file}; shift 2;;
    *) echo "arm-cost: unknown argument '$1' (only --out FILE)" >&2; exit 2;;
  esac
done
jobs=$(nproc)
N1=200 N2=1200

need() { command -v "$1" >/dev/null 2>&1 || { echo "arm-cost: $1 is missing ($2)" >&2; exit 1; }; }
need qemu-aarch64 "scripts/deps.sh test installs qemu-user"
need pkg-config "scripts/deps.sh installs it"
pkg-config --exists glib-2.0 || { echo "arm-cost: glib-2.0 is missing: scripts/deps.sh bench installs libglib2.0-dev" >&2; exit 1; }

# --- the plugin, from Debian's qemu source (the version of qemu-user) ---
plugin=.deps/qemu-plugin/libinsn.so
if [ ! -f "$plugin" ]; then
  mkdir -p .deps/qemu-plugin && src=$(mktemp -d)
  grep -rqs "^Types: deb-src\|^deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/ || {
    echo "arm-cost: apt has no deb-src entries; scripts/build-srtp.sh adds them" >&2; exit 1; }
  (cd "$src" && apt-get source --download-only qemu >/dev/null 2>&1) || {
    echo "arm-cost: apt-get source qemu failed (deb-src entries, network?)" >&2; exit 1; }
  tar -C "$src" -xJf "$src"/qemu_*.orig.tar.xz --wildcards \
      '*/tests/plugin/insn.c' '*/include/qemu/qemu-plugin.h'
  q=$(echo "$src"/qemu-*/)
  gcc -shared -fPIC -O2 -I"$q/include/qemu" $(pkg-config --cflags glib-2.0) \
      "$q/tests/plugin/insn.c" -o "$plugin" $(pkg-config --libs glib-2.0)
  rm -rf "$src"
fi

# --- media-cost for each architecture ---
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" --target media-cost crypto-count >/dev/null
for arch in aarch64:arm64 armhf:armhf; do
  name=${arch%%:*}; deb=${arch##*:}
  toolchains/make-sysroot.sh "$deb" "$PWD/build-$name/sysroot"
  scripts/build-srtp.sh "$deb" "$PWD/build-$name/sysroot" >/dev/null
  cmake -S . -B "build-$name" -DCMAKE_TOOLCHAIN_FILE="toolchains/$name.cmake" \
        -DMEESHY_SYSROOT="$PWD/build-$name/sysroot" -DMEESHY_WITH_MONGO=OFF \
        -DBUILD_TESTING=ON >/dev/null
  cmake --build "build-$name" -j"$jobs" --target media-cost crypto-count >/dev/null
done

# count ENV QEMU ARGS...: the instructions of one run of media-cost
count() {
  local envs=$1 qemu=$2; shift 2
  local n
  n=$(env $envs $qemu -plugin "$PWD/$plugin,inline=on" -d plugin "$@" 2>&1 |
      sed -n 's/^insns: \([0-9]*\)$/\1/p')
  [ -n "$n" ] || { echo "arm-cost: no count from $qemu $*" >&2; exit 1; }
  echo "$n"
}

# path NAME ENV QEMU...: every figure of one crypto path, as JSON
path() {
  local name=$1 envs=$2; shift 2
  local qemu="$*" dir line sizes="" bin
  case "$name" in
    aarch64*) dir=build-aarch64; qemu="$qemu -L build-aarch64/sysroot";;
    armhf*) dir=build-armhf; qemu="$qemu -L build-armhf/sysroot";;
    *) dir=build;;
  esac
  bin=$dir/bench/media-cost
  echo "arm-cost: $name" >&2
  for bytes in 1200 100; do
    local c=()
    for cfg in "router --fanout 1" "router --fanout 8" "browser --fanout 1" "peek --fanout 1"; do
      for n in $N1 $N2; do
        c+=("$(count "$envs" "$qemu" $bin --one $cfg --bytes $bytes --packets $n)")
      done
    done
    line=$(awk -v a="${c[0]}" -v b="${c[1]}" -v d="${c[2]}" -v e="${c[3]}" \
               -v f="${c[4]}" -v g="${c[5]}" -v h="${c[6]}" -v i="${c[7]}" \
               -v n=$((3 * (N2 - N1))) -v bytes=$bytes 'BEGIN {
      in1 = (b - a) / n; in8 = (e - d) / n; browser = (g - f) / n
      copy = (in8 - in1) / 7; rx = in1 - copy - browser; peek = (i - h) / n - browser
      printf "\"%d\": {\"per_packet_in\": %.0f, \"per_copy_out\": %.0f, \"per_packet_peeked\": %.0f, \"browser_protect\": %.0f}", bytes, rx, copy, peek, browser }')
    sizes="$sizes${sizes:+, }$line"
  done
  local h1 h3 prim per_byte=""
  h1=$(count "$envs" "$qemu" $bin --one dtls --runs 1)
  h3=$(count "$envs" "$qemu" $bin --one dtls --runs 3)
  for prim in aes-128-ctr sha1; do
    local small big
    small=$(count "$envs" "$qemu" $dir/bench/crypto-count $prim --bytes 256 --packets $N1)
    big=$(count "$envs" "$qemu" $dir/bench/crypto-count $prim --bytes 4096 --packets $N1)
    per_byte="$per_byte, \"${prim//-/_}_per_byte\": $(awk -v a="$small" -v b="$big" \
      -v n=$N1 'BEGIN { printf "%.3f", (b - a) / (n * 3840) }')"
  done
  printf '    "%s": {%s, "dtls_handshake_both_ends": %.0f%s}' "$name" "$sizes" \
         "$(awk -v a="$h1" -v b="$h3" 'BEGIN { print (b - a) / 2 }')" "$per_byte"
}

{
  echo "{"
  echo "  \"what\": \"instructions per media packet and DTLS handshake, counted by qemu-user's insn plugin (bench/arm-cost.sh)\","
  echo "  \"qemu\": \"$(qemu-aarch64 --version | head -1)\","
  echo "  \"paths\": {"
  path x86_64 "" qemu-x86_64 -cpu max; echo ","
  path aarch64-ce "" qemu-aarch64 -cpu max; echo ","
  path aarch64-neon "OPENSSL_armcap=1" qemu-aarch64 -cpu max; echo ","
  path armhf-ce "" qemu-arm -cpu max; echo ","
  path armhf-neon "OPENSSL_armcap=1" qemu-arm -cpu max; echo
  echo "  }"
  echo "}"
} > "$out.tmp"
mv "$out.tmp" "$out"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$out"
echo "arm-cost: wrote $out" >&2
cat "$out"
# priced per named core, checked on this machine (docs/PERFORMANCE.md)
if [ "$out" = docs/arm-cost.json ]; then
  python3 bench/arm_model.py --measure
fi
