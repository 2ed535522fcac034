#!/usr/bin/env bash
# Builds and runs every test, after installing what is missing:
#   1. the x86-64 build: CUnit suites, the integration tests (real
#      socket.io-client, ws and Artillery against real meeshy-call processes)
#      and the ns-3 harness checking itself (sim_small)
#   2. all of them again with AddressSanitizer, LeakSanitizer and UBSan
#      (a leak or memory error at meeshy-call's exit fails its test)
#   3. the aarch64 build over a Debian sysroot, unit tests under qemu
#   4. the armhf build, unit tests under qemu
#   5. the rule that core/ includes no OS header
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/deps.sh test

step() { printf '\n=== %s\n' "$*"; }

step "core/ includes no OS header and calls no OS function"
if grep -nE '#include <(sys/|unistd|fcntl|netinet/|arpa/|pthread|time\.h|signal|poll|dlfcn|net/)' core/*.[ch] ||
   grep -nE '\b(socket|recvmmsg|sendmmsg|clock_gettime|gettimeofday|usleep|nanosleep|getrandom|fopen|malloc|free)\s*\(' core/*.[ch]; then
  echo "core/ must reach the platform through port/port.h only" >&2
  exit 1
fi
echo "ok"

step "x86-64: build, unit and integration tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEESHY_INTEGRATION=ON \
      -DMEESHY_WITH_NS3=ON >/dev/null
cmake --build build -j"$jobs"
# A failing test runs once more before it fails the run: the browser tests
# time real media on a loaded 2-core machine. A test that needed the second
# run still shows its first failure in the log above the summary.
(cd build && ctest -j"$jobs" --output-on-failure --repeat until-pass:2)

step "x86-64 with AddressSanitizer and UndefinedBehaviorSanitizer: all tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMEESHY_SANITIZE=address,undefined \
      -DMEESHY_INTEGRATION=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$jobs" --output-on-failure --repeat until-pass:2)

for arch in aarch64:arm64 armhf:armhf; do
  name=${arch%%:*}; deb=${arch##*:}
  step "$name: cross build, unit tests under qemu"
  toolchains/make-sysroot.sh "$deb" "$PWD/build-$name/sysroot"
  # The edge build keeps its calls in SQLite: no mongo-c-driver in the sysroot.
  cmake -S . -B "build-$name" -DCMAKE_TOOLCHAIN_FILE="toolchains/$name.cmake" \
        -DMEESHY_SYSROOT="$PWD/build-$name/sysroot" -DMEESHY_WITH_MONGO=OFF >/dev/null
  cmake --build "build-$name" -j"$jobs"
  (cd "build-$name" && ctest -j"$jobs" --output-on-failure)
done
step "all tests passed"
