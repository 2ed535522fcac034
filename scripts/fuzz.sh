#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz for a while (default an hour
# each), as many at a time as there are cores (FUZZ_PARALLEL=N to choose),
# keeping what each finds in build-fuzz's corpus so the next run starts
# from there:
#   scripts/fuzz.sh [seconds-per-harness] [harness...]
# A crash fails the script with the harness's report and the input that
# did it (crash-* in the current folder); the other harnesses finish their
# time. FUZZ_FORK=N runs each harness as N processes (libFuzzer's -fork,
# one corpus; its last "#count:" line is the executions of all N). Needs
# clang (scripts/deps.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}; shift || true
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
      -DMEESHY_FUZZ=ON -DMEESHY_SANITIZE=address,undefined -DMEESHY_WITH_MONGO=OFF \
      -DMEESHY_INTEGRATION=OFF -DMEESHY_WITH_NS3=OFF >/dev/null
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(sio jwt sdp stun router payload dtls ws media validate http cluster)
cmake --build build-fuzz -j"$(nproc)" --target "${names[@]/#/fuzz_}"

# one harness for its time; its log's last lines, and a failure named
fuzz_one() {
  local n=$1 corpus=build-fuzz/tests/fuzz/corpus/$1 log=build-fuzz/fuzz_$1.log rc=0
  mkdir -p "$corpus"
  build-fuzz/tests/fuzz/fuzz_"$n" -max_total_time="$seconds" -timeout=5 \
    -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_FORK:+-fork="$FUZZ_FORK"} \
    "$corpus" tests/fuzz/corpus/"$n" >"$log" 2>&1 || rc=$?
  echo "=== fuzz_$n, ${seconds} s${FUZZ_FORK:+, $FUZZ_FORK processes}"
  grep -E '^stat::number_of_executed_units|DONE|ERROR|SUMMARY' "$log" || true
  [ -z "${FUZZ_FORK:-}" ] || grep -E '^#[0-9]+: ' "$log" | tail -n 1
  [ "$rc" = 0 ] || { echo "fuzz_$n found a failure (rc $rc, $log)" >&2; return 1; }
}

parallel=${FUZZ_PARALLEL:-$(nproc)}
failed=0
for n in "${names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || failed=1; done
  fuzz_one "$n" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
exit "$failed"
