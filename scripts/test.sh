#!/usr/bin/env bash
# Builds and runs every test, after installing what is missing:
#   1. the x86-64 build: CUnit suites, the integration tests (real
#      socket.io-client, ws and Artillery against real meeshy-call processes)
#      and the ns-3 harness checking itself (sim_small); then the build
#      without Redis or MongoDB, its unit tests
#   2. all of them again with AddressSanitizer, LeakSanitizer and UBSan
#      (a leak or memory error at meeshy-call's exit fails its test)
#   3. the aarch64 build over a Debian sysroot, unit tests under qemu
#   4. the armhf build, unit tests under qemu
#   5. the rule that core/ includes no OS header, and every C file as
#      .clang-format lays it out
#   6. the libFuzzer harnesses of tests/fuzz, 20 s each (scripts/fuzz.sh
#      runs them for hours)
# Exits non-zero on the first failure, and on a phase that finds no test.
# Its build folders are its own (scripts/run.sh builds in build-run/), and
# every configure states each option it relies on, so nothing left by
# another command changes what runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/deps.sh test

step() { printf '\n=== %s\n' "$*"; }

# One phase's tests: finding none is a failure, and the output is kept so
# the end of the run can name every test that needed a second run. Only
# the browser tests get one (run_browser_ctest): they time real media in
# Chromium on a loaded 2-core machine; every other test must pass on its
# first run.
logs=()
run_ctest() {
  local dir=$1; shift
  local log="$PWD/$dir/test-output-${#logs[@]}.log"
  logs+=("$log")
  (cd "$dir" && ctest -j"$jobs" --output-on-failure --no-tests=error "$@") 2>&1 | tee "$log"
}
# All of a build's tests: the browser ones (if any were configured) with a
# second run allowed, then the rest without.
run_all_ctest() {
  local dir=$1
  if [ "$(cd "$dir" && ctest -N -L browser --no-tests=error | grep -c 'Test *#')" -gt 0 ]; then
    run_ctest "$dir" -L browser --repeat until-pass:2
  fi
  run_ctest "$dir" -LE browser
}
# Tests with a failed attempt ("***Failed", "***Timeout"...) and a later
# "Passed" in the same log.
retried() {
  awk '/Test +#[0-9]+: / {
         n = $0; sub(/.*Test +#[0-9]+: /, "", n); sub(/ .*/, "", n)
         if ($0 ~ /\*\*\*/) bad[n] = 1; else if ($0 ~ / Passed /) ok[n] = 1
       }
       END { for (n in bad) if (n in ok) print n }' "$1"
}
report_retries() {
  local log any=0
  [ ${#logs[@]} -gt 0 ] || return 0
  step "tests that passed only on their second run"
  for log in "${logs[@]}"; do
    [ -f "$log" ] || continue
    while read -r t; do
      [ -n "$t" ] || continue
      echo "RETRIED: $t ($(basename "$(dirname "$log")"))"; any=1
    done < <(retried "$log")
  done
  [ $any = 1 ] || echo "none"
}
trap report_retries EXIT

step "core/ includes no OS header and calls no OS function"
if grep -nE '#include <(sys/|unistd|fcntl|netinet/|arpa/|pthread|time\.h|signal|poll|dlfcn|net/)' core/*.[ch] ||
   grep -nE '\b(socket|recvmmsg|sendmmsg|clock_gettime|gettimeofday|usleep|nanosleep|getrandom|fopen|malloc|free)\s*\(' core/*.[ch]; then
  echo "core/ must reach the platform through port/port.h only" >&2
  exit 1
fi
echo "ok"

step "every C file as .clang-format lays it out (clang-format $(clang-format --version | grep -oE '[0-9]+\.[0-9.]+' | head -1))"
unformatted=()
while read -r f; do
  clang-format --style=file "$f" | cmp -s - "$f" || unformatted+=("$f")
done < <(git ls-files '*.c' '*.h')
if [ ${#unformatted[@]} -gt 0 ]; then
  printf 'not formatted (clang-format -i --style=file FILE): %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "ok: $(git ls-files '*.c' '*.h' | wc -l) files"

step "x86-64: build, unit and integration tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON \
      -DMEESHY_INTEGRATION=ON -DMEESHY_WITH_NS3=ON -DMEESHY_SANITIZE= >/dev/null
cmake --build build -j"$jobs"
run_all_ctest build

step "x86-64 without Redis or MongoDB (role all on SQLite alone): it builds, its unit tests pass"
cmake -S . -B build-bare -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON \
      -DMEESHY_WITH_REDIS=OFF -DMEESHY_WITH_MONGO=OFF -DMEESHY_INTEGRATION=OFF \
      -DMEESHY_WITH_NS3=OFF -DMEESHY_SANITIZE= >/dev/null
cmake --build build-bare -j"$jobs"
run_ctest build-bare

step "libFuzzer harnesses (tests/fuzz; clang, ASan and UBSan): each for 20 s from its seeds"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
      -DMEESHY_FUZZ=ON -DMEESHY_FUZZ_SECONDS=20 -DMEESHY_SANITIZE=address,undefined \
      -DMEESHY_WITH_MONGO=OFF -DMEESHY_INTEGRATION=OFF -DMEESHY_WITH_NS3=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_sio fuzz_jwt fuzz_sdp fuzz_stun fuzz_router \
      fuzz_payload fuzz_dtls fuzz_ws fuzz_media fuzz_validate fuzz_http fuzz_cluster
run_ctest build-fuzz -L fuzz

step "x86-64 with AddressSanitizer and UndefinedBehaviorSanitizer: all tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
      -DMEESHY_SANITIZE=address,undefined -DMEESHY_INTEGRATION=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1
run_all_ctest build-asan
unset ASAN_OPTIONS

for arch in aarch64:arm64 armhf:armhf; do
  name=${arch%%:*}; deb=${arch##*:}
  step "$name: cross build, unit tests under qemu"
  toolchains/make-sysroot.sh "$deb" "$PWD/build-$name/sysroot"
  scripts/build-srtp.sh "$deb" "$PWD/build-$name/sysroot"
  # The edge build keeps its calls in SQLite: no mongo-c-driver in the sysroot.
  cmake -S . -B "build-$name" -DCMAKE_TOOLCHAIN_FILE="toolchains/$name.cmake" \
        -DMEESHY_SYSROOT="$PWD/build-$name/sysroot" -DMEESHY_WITH_MONGO=OFF \
        -DBUILD_TESTING=ON >/dev/null
  cmake --build "build-$name" -j"$jobs"
  run_ctest "build-$name"
done
step "all tests passed"
