#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz for a while (default an hour
# each, one after another), keeping what each finds in build-fuzz's corpus
# so the next run starts from there:
#   scripts/fuzz.sh [seconds-per-harness] [harness...]
# A crash stops the script with the harness's report and the input that
# did it (crash-* in the current folder). Needs clang (scripts/deps.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}; shift || true
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
      -DMEESHY_FUZZ=ON -DMEESHY_SANITIZE=address,undefined -DMEESHY_WITH_MONGO=OFF \
      -DMEESHY_INTEGRATION=OFF -DMEESHY_WITH_NS3=OFF >/dev/null
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(sio jwt sdp stun router payload dtls ws media validate http cluster)
cmake --build build-fuzz -j"$(nproc)" --target "${names[@]/#/fuzz_}"
for n in "${names[@]}"; do
  corpus=build-fuzz/tests/fuzz/corpus/$n
  mkdir -p "$corpus"
  echo "=== fuzz_$n for ${seconds} s"
  log=build-fuzz/fuzz_$n.log rc=0
  build-fuzz/tests/fuzz/fuzz_"$n" -max_total_time="$seconds" -timeout=5 \
    -rss_limit_mb=2048 -print_final_stats=1 "$corpus" tests/fuzz/corpus/"$n" \
    >"$log" 2>&1 || rc=$?
  grep -E '^stat::number_of_executed_units|DONE|ERROR|SUMMARY' "$log" || true
  [ "$rc" = 0 ] || { echo "fuzz_$n found a failure (rc $rc, $log)" >&2; exit 1; }
done
