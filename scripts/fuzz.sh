#!/usr/bin/env bash
# fuzz.sh [SECONDS] — builds the libFuzzer harnesses of tests/fuzz (clang, ASan+UBSan, in
# build-fuzz) and runs each for SECONDS (default 30), two at a time, from its seed corpus
# in tests/fuzz/corpus/NAME. New corpus entries, crash reproducers and logs go to a
# scratch directory, never into the repository. Prints one line per harness:
#   fuzz NAME: N execs in S s (X exec/s), 0 findings
# and exits non-zero when any harness found something (a crash, a sanitizer report, a
# leak, a timeout, running out of memory), naming the harness and its reproducer.
#
# Environment: SY_FUZZ_BUILD (build directory, default build-fuzz), SY_FUZZ_JOBS
# (harnesses at once, default 2), SY_FUZZ_ONLY (space-separated harness names),
# SY_FUZZ_KEEP=1 (keep the scratch directory even when nothing was found).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
build="${SY_FUZZ_BUILD:-build-fuzz}"
jobs="${SY_FUZZ_JOBS:-2}"
case "$seconds" in '' | *[!0-9]*) echo "usage: fuzz.sh [SECONDS]" >&2; exit 2 ;; esac

# name, max_len, per-input timeout (s), dictionary, leak check after each input (1) or at exit
# only (0). The harnesses with a server inside check leaks at exit: the server frees a
# request after its reply and the store frees old snapshots later (RCU), so the count of
# allocations of one input rarely balances, and each check would stop the world.
harnesses=(
  "fuzz_name 4200 10 - 1"
  "fuzz_text 1024 10 query.dict 1"
  "fuzz_pattern 2048 10 pattern.dict 1"
  "fuzz_sigv4_verify 4096 10 sigv4.dict 1"
  "fuzz_sigv4_canon 4096 10 sigv4.dict 1"
  "fuzz_native 10000 30 api.dict 0"
  "fuzz_query 2048 30 query.dict 0"
  "fuzz_import 16384 30 api.dict 0"
  "fuzz_ssm 10000 30 ssm.dict 0"
  "fuzz_http 16384 30 http.dict 0"
  "fuzz_ofrep 8192 30 api.dict 0"
  "fuzz_adapter 16384 10 adapter.dict 1"
  "fuzz_gwdoc 16384 10 gwdoc.dict 1"
  "fuzz_alert_rule 16384 10 alert_rule.dict 1"
  "fuzz_libcache 16384 10 api.dict 1"
  "fuzz_rollout 16384 10 gwdoc.dict 1"
  "fuzz_promq 16384 10 promq.dict 1"
)

cc="${SY_FUZZ_CC:-clang}"
if ! command -v "$cc" >/dev/null; then
  echo "fuzz: $cc is not installed (scripts/deps.sh --test installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
echo "== fuzz: building $build =="
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
  -DSY_FUZZ=ON >/dev/null || exit 1
cmake --build "$build" --target sy_fuzz -j"$(nproc)" >/dev/null || {
  cmake --build "$build" --target sy_fuzz -j1 2>&1 | tail -40
  exit 1
}

scratch="$(mktemp -d "${TMPDIR:-/tmp}/sy-fuzz.XXXXXX")"
# the in-process servers keep their stores in memory when they can: fsync is then free
shm_base=/dev/shm
[ -d "$shm_base" ] && [ -w "$shm_base" ] || shm_base="$scratch"
stores="$(mktemp -d "$shm_base/sy-fuzz-stores.XXXXXX")"
cleanup() { rm -rf "$stores"; }
trap cleanup EXIT

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:handle_abort=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export SY_FUZZ_TMPDIR="$stores"
unset SWITCHYARD_ACCESS_LOG

# Runs one harness; its exit status and log are in $scratch/NAME.{rc,log}.
run_one() {
  local name="$1" max_len="$2" timeout="$3" dict="$4" leaks="$5"
  local corpus="$scratch/corpus/$name" art="$scratch/artifacts/$name/" seeds="tests/fuzz/corpus/$name"
  # new inputs go to the first directory, the scratch one; the seeds are only read
  local args=("$corpus")
  mkdir -p "$corpus" "$art"
  [ -d "$seeds" ] && args+=("$seeds")
  [ "$dict" != "-" ] && args+=("-dict=tests/fuzz/$dict")
  local start end
  start=$(date +%s.%N)
  "$build/tests/fuzz/$name" "${args[@]}" -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" \
    -detect_leaks="$leaks" -rss_limit_mb=2560 -malloc_limit_mb=2560 -artifact_prefix="$art" -print_final_stats=1 \
    >"$scratch/$name.log" 2>&1
  echo $? >"$scratch/$name.rc"
  end=$(date +%s.%N)
  echo "$start $end" >"$scratch/$name.time"
}

selected=()
for h in "${harnesses[@]}"; do
  set -- $h
  if [ -z "${SY_FUZZ_ONLY:-}" ] || [[ " $SY_FUZZ_ONLY " == *" $1 "* ]]; then selected+=("$h"); fi
done
echo "== fuzz: ${#selected[@]} harnesses, ${seconds} s each, $jobs at a time; scratch $scratch =="
running=0
for h in "${selected[@]}"; do
  set -- $h
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_one "$@" &
  running=$((running + 1))
done
wait

failed=0
npass=0
nfail=0
for h in "${selected[@]}"; do
  set -- $h
  name="$1"
  [ -f "$scratch/$name.rc" ] || continue
  rc=$(cat "$scratch/$name.rc")
  log="$scratch/$name.log"
  read -r t0 t1 <"$scratch/$name.time"
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
  execs=${execs:-0}
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
  rate=$(awk -v n="$execs" -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; printf "%.0f", (d > 0 ? n / d : 0) }')
  findings=$(find "$scratch/artifacts/$name" -type f | wc -l)
  # a sanitizer report that did not stop the run (e.g. LeakSanitizer at exit) is a finding too
  if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    [ "$findings" -gt 0 ] || findings=1
  fi
  echo "fuzz $name: $execs execs in $secs s ($rate exec/s), $findings findings"
  if [ "$findings" -eq 0 ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi
  if [ "$findings" -gt 0 ]; then
    failed=1
    echo "  FAILED: $name (exit $rc); log: $log"
    for f in "$scratch/artifacts/$name"/*; do
      [ -f "$f" ] && echo "  reproducer: $f   (run: $build/tests/fuzz/$name $f)"
    done
    if grep -qE 'ERROR: |runtime error:|inproc: ' "$log"; then
      grep -m1 -E 'ERROR: |runtime error:|inproc: ' "$log" | sed 's/^/  /'
    else
      grep -v '^{' "$log" | tail -n 5 | sed 's/^/  /' # not a finding of the fuzzer: how the run ended
    fi
  fi
done

if [ "$failed" = 0 ] && [ "${SY_FUZZ_KEEP:-0}" != 1 ]; then
  rm -rf "$scratch"
else
  echo "fuzz: logs, new corpus entries and reproducers are in $scratch"
fi
echo "fuzz: $npass passed, $nfail failed"
exit "$failed"
