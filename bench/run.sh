#!/bin/sh
# bench/run.sh - every benchmark behind docs/PERFORMANCE.md in one go, on
# this machine, into bench/results/<UTC time>/: bench/media-cost (3 runs),
# meeshy-load against our SFU and Janus (the SFU on core 0, the load on
# core 1), one media worker against two (3 runs each), and the Chromium
# join (10 calls); then bench/summary.js writes summary.md and
# forwarded.svg there (the figures, their ratios, the plot).
#
#   sh bench/run.sh [--quick]      (--quick: fewer steps and runs)
#
# Needs a build in build/ (scripts/test.sh makes it), Janus
# (scripts/deps.sh bench), root (SCHED_FIFO, network namespaces), and the
# machine to itself: nothing else running (no CI), or the figures are the
# neighbours'.
set -eu
cd "$(dirname "$0")/.."
BUILD=${MEESHY_BUILD:-build}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
for f in "$BUILD/bench/media-cost" "$BUILD/bench/media-probe" "$BUILD/apps/meeshy-call/meeshy-call"; do
	[ -x "$f" ] || { echo "bench/run.sh: $f is missing: build first (scripts/test.sh, or cmake --build $BUILD)" >&2; exit 2; }
done
command -v janus >/dev/null || { echo "bench/run.sh: janus is missing: sh scripts/deps.sh bench" >&2; exit 2; }

OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
{
	echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
	echo "$(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "at the start; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tr '\n' ' ' > "$OUT/machine.txt"

if [ $QUICK = 1 ]; then
	RUNS=1 STEPS=50,100,200 JOINS=3 PACKETS=2000
else
	RUNS=3 STEPS=50,100,200,300,400,500 JOINS=10 PACKETS=20000
fi

echo "== bench/media-cost x$RUNS"
for i in $(seq 1 $RUNS); do
	taskset -c 0 "$BUILD/bench/media-cost" --packets $PACKETS --out "$OUT/media-cost-$i.json" > "$OUT/media-cost-$i.log"
done

echo "== meeshy-load: ours, Janus and the raw relay, steps $STEPS"
node bench/load.js --build "$BUILD" --target all --calls 10 --steps $STEPS --step-s 6 --out "$OUT/load.json" | tee "$OUT/load.log"

echo "== meeshy-load: one media worker against two, x$RUNS"
for i in $(seq 1 $RUNS); do
	for w in 1 2; do
		node bench/load.js --build "$BUILD" --target meeshy --calls 10 --steps 100,200 --step-s 6 \
			--media-workers $w --out "$OUT/workers-$w-$i.json" > "$OUT/workers-$w-$i.log"
	done
done

echo "== Chromium join x$JOINS"
node bench/join.js --build "$BUILD" --runs $JOINS --out "$OUT/join.json" | tee "$OUT/join.log"

node bench/summary.js "$OUT"
echo "bench/run.sh: results in $OUT (summary.md, forwarded.svg)"
