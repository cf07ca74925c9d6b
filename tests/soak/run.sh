#!/usr/bin/env bash
# run.sh BUILD_DIR — `make soak`: the SIGKILL soak (kill.mjs) then the load soak (load.mjs) against
# copies of BUILD_DIR's binaries, so that a rebuild during the run does not change what is tested.
# Results: bench/results/<UTC stamp>-soak/ (kill.json, load.json, load-samples.tsv, server logs,
# env.txt, bin/). Env: SOAK_CYCLES (default 200), SOAK_MINUTES (default 10).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
build="${1:?usage: tests/soak/run.sh BUILD_DIR}"
[ -d "$build" ] || build="$TOP/$build"
for b in switchyard switchyard-server; do
  [ -x "$build/$b" ] || { echo "tests/soak/run.sh: no $b in $build (build first: make build)" >&2; exit 1; }
done
OUT="$TOP/bench/results/$(date -u +%Y%m%dT%H%M%SZ)-soak"
mkdir -p "$OUT/bin"
cp "$build/switchyard" "$build/switchyard-server" "$OUT/bin/"
export SWITCHYARD_BIN="$OUT/bin/switchyard" SOAK_RESULTS_DIR="$OUT"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm); cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "switchyard: $build ($(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$([ -z "$(git -C "$TOP" status --porcelain -- src include CMakeLists.txt 2>/dev/null)" ] || echo ', uncommitted changes in src/'))"
  echo "cycles: ${SOAK_CYCLES:-200}; minutes: ${SOAK_MINUTES:-10}"
} | tee "$OUT/env.txt"
rc=0
node "$HERE/kill.mjs" --cycles "${SOAK_CYCLES:-200}" || rc=1
node "$HERE/load.mjs" --minutes "${SOAK_MINUTES:-10}" || rc=1
echo "loadavg at end: $(cat /proc/loadavg)" >>"$OUT/env.txt"
echo "results: $OUT"
exit "$rc"
