#!/usr/bin/env bash
# rollout.sh BUILD_DIR — the rollout controller under load (bench/rollout_bench.js): a fresh server on
# the test clock with 1,000 flags and 1,000 active plans (3 gates on pushed metrics, a 1 h bake each);
# the server's CPU share over ~20 s while the controller evaluates them every second, its evaluation
# rate (when /metrics exposes it), and for 20 plans the time from a breaching push's reply to the
# rollback on the change stream (median, p95; target ≤ 1 s).
# Called by bench/run.sh (results in its PEERS_RESULTS_DIR); alone, results go to
# bench/results/<UTC stamp>-rollout/. Writes rollout.json, rollout.md and rows of summary.tsv.
# Env: ROLLOUT_PLANS (default 1000), ROLLOUT_WINDOW_S (default 20), ROLLOUT_BREACHES (default 20),
#      ROLLOUT_PORT (first port tried, default 58520).
# Exits non-zero when the measurement could not be made (the server or the rollouts API failed);
# a missed target shows "no" in the table but does not fail.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))"
build="${1:?usage: bench/rollout.sh BUILD_DIR}"
if [ -d "$build" ]; then BDIR="$(cd "$build" && pwd)"; else BDIR="$TOP/$build"; fi
BIN="$BDIR/switchyard"

RESULTS="${PEERS_RESULTS_DIR:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-rollout}"
mkdir -p "$RESULTS"; touch "$RESULTS/summary.tsv"
MD="$RESULTS/rollout.md"
TOKEN="bench-admin-token"
NPLANS="${ROLLOUT_PLANS:-1000}"; WINDOW="${ROLLOUT_WINDOW_S:-20}"; NBREACH="${ROLLOUT_BREACHES:-20}"

# shellcheck source=bench/server_common.sh
. "$HERE/server_common.sh"
[ -x "$BIN" ] || die "no switchyard binary in $BDIR (build first: make build)"
command -v node >/dev/null || die "node is not installed"
command -v jq >/dev/null || die "jq is not installed"

bench_setup rolloutbench

PORT="$(bench_free_port "${ROLLOUT_PORT:-58520}")"
BASE="http://127.0.0.1:$PORT"
SLOG="$RESULTS/switchyard-rollout.log"
# the subshell execs the server: $! is the server's pid (whose /proc/PID/stat is read)
( export SWITCHYARD_ADMIN_TOKEN="$TOKEN" SWITCHYARD_TEST_CLOCK=1
  exec "$BIN" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" ) >>"$SLOG" 2>&1 </dev/null &
SERVER_PID=$!
bench_wait_health "$BASE" "$SERVER_PID" "$SLOG"
log "switchyard pid $SERVER_PID on $BASE (test clock); $(nproc) vCPUs; $NPLANS plans, ${WINDOW} s window, $NBREACH breaches"

FAILS=()
if timeout $((WINDOW + 600)) node "$HERE/rollout_bench.js" --base "$BASE" --token "$TOKEN" --pid "$SERVER_PID" \
     --plans "$NPLANS" --window-s "$WINDOW" --breaches "$NBREACH" --clk-tck "$(getconf CLK_TCK)" \
     >"$RESULTS/rollout.json" 2> >(tee "$RESULTS/rollout.txt" >&2) && jq -e . "$RESULTS/rollout.json" >/dev/null 2>&1; then :
else
  FAILS+=("bench/rollout_bench.js failed (rollout.txt)"); echo '{}' >"$RESULTS/rollout.json"
fi
kill -0 "$SERVER_PID" 2>/dev/null || FAILS+=("switchyard exited during the rollout bench (see switchyard-rollout.log)")
stop_pid "$SERVER_PID"; SERVER_PID=""

j() { jq -r "$1 // \"-\"" "$RESULTS/rollout.json" 2>/dev/null || echo -; }
met() { awk "BEGIN{exit !($1)}" 2>/dev/null && echo "yes" || echo "**no**"; }
cpu="$(j .cpu.share_pct)"; evals="$(j .eval.per_s)"; med="$(j .breach.median_ms)"; p95="$(j .breach.p95_ms)"
nb="$(j .breach.n)"
lat_ok="$([ "$p95" = - ] && echo "**no** (not measured)" || met "$p95 <= 1000 && $med <= 1000 && $nb == $NBREACH")"
tsv() { printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(date -u +%FT%TZ)" "$@" >>"$RESULTS/summary.tsv"; }
tsv switchyard-rollout-controller-cpu - - - - \
  "$NPLANS active plans (3 gates each, 1 h bake): server CPU $cpu % of one core over $(j .cpu.wall_s) s; $evals evaluation passes/s ($(j .eval.plan_evals_per_s) plan evaluations/s); RSS $(j .rss_kb) kB"
tsv switchyard-rollout-breach - "$med" "$p95" - \
  "breaching push → rollback on the change stream, $nb/$NBREACH plans: median $med ms, p95 $p95 ms, max $(j .breach.max_ms) ms"
{
  echo "### Rollout controller"
  echo
  echo "A fresh server on the test clock, $(nproc) vCPUs shared with the load generator; $NPLANS flags and $NPLANS running plans (gates: requests ≥ 100, error_rate ≤ 5 %, p95 ≤ 5 s on pushed metrics; 1 h bake), created in $(j .flags_s) s and $(j .plans_s) s ($(j .running) running)."
  echo
  echo "| measurement | result | target | met |"
  echo "|---|---|---|---|"
  echo "| server CPU with $NPLANS active plans, idle otherwise ((utime+stime) / wall over $(j .cpu.wall_s) s) | **$cpu %** of one core ($(j .cpu.ticks) ticks at $(j .clk_tck)/s); RSS $(j .rss_kb) kB | reported | – |"
  echo "| controller evaluations | $([ "$evals" = - ] && echo "not exposed in /metrics" || echo "**$evals passes/s** over $(j .eval.plans) plans ($(j .eval.metric)): $(j .eval.plan_evals_per_s) plan evaluations/s") | every plan each second | $([ "$evals" = - ] && echo "–" || met "$evals >= 0.9") |"
  echo "| breaching push (reply) → rollback's state document on GET /api/v1/watch, $NBREACH plans one at a time | median **$med ms**, p95 **$p95 ms**, max $(j .breach.max_ms) ms; seen $nb/$NBREACH | ≤ 1 s | $lat_ok |"
  if [ "${#FAILS[@]}" -gt 0 ]; then echo; echo "**Checks failed:**"; printf -- '- %s\n' "${FAILS[@]}"; fi
} >"$MD"
echo; cat "$MD"; echo
echo "results: $RESULTS"
[ "${#FAILS[@]}" -eq 0 ]
