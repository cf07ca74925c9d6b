#!/usr/bin/env bash
# lib.sh BUILD_DIR — libswitchyard in a program: ns per sy_flag_enabled of a 25 % rollout (1 thread,
# then 1/2/4/8 threads: bench_lib_eval) and the delay of one PUT to 1000 event-loop clients with
# their memory (bench_lib_propagate), against a freshly started server.
# Called by bench/run.sh (results in its PEERS_RESULTS_DIR); alone, results go to
# bench/results/<UTC stamp>-lib/. Writes lib-eval.json, lib-propagate.json (and their .txt),
# lib.json, lib.md and rows of summary.tsv.
# Env: LIB_RUNS (runs per figure, default 7), LIB_ITERS (evaluations per run and thread, default
#      2000000), LIB_CLIENTS (default 1000), LIB_PROCS (worker processes, default 2),
#      LIB_PORT (first port tried, default 58500).
# Exits non-zero when a measurement failed its check (a client that did not sync or get the change,
# a flag that does not evaluate); missed targets show "no" in the table but do not fail.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))"
build="${1:?usage: bench/lib.sh BUILD_DIR}"
if [ -d "$build" ]; then BDIR="$(cd "$build" && pwd)"; else BDIR="$TOP/$build"; fi
BIN="$BDIR/switchyard"; EVAL="$BDIR/bench_lib_eval"; PROP="$BDIR/bench_lib_propagate"

RESULTS="${PEERS_RESULTS_DIR:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-lib}"
mkdir -p "$RESULTS"; touch "$RESULTS/summary.tsv"
MD="$RESULTS/lib.md"
TOKEN="bench-admin-token"; AUTH="Authorization: Bearer $TOKEN"
RUNS="${LIB_RUNS:-7}"; ITERS="${LIB_ITERS:-2000000}"; NCLIENTS="${LIB_CLIENTS:-1000}"; NPROCS="${LIB_PROCS:-2}"

# shellcheck source=bench/server_common.sh
. "$HERE/server_common.sh"
if [ ! -x "$EVAL" ] || [ ! -x "$PROP" ] || [ ! -x "$BIN" ]; then
  log "no bench_lib_eval / bench_lib_propagate / switchyard in $BDIR (libswitchyard not built): lib bench skipped"
  printf '### libswitchyard\n\nnot measured: bench_lib_eval and bench_lib_propagate are not built in %s.\n' "$BDIR" >"$MD"
  exit 0
fi

# 1000 clients hold one epoll descriptor and one or two sockets each, and the server as many
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_setup libbench

PORT="$(bench_free_port "${LIB_PORT:-58500}")"
BASE="http://127.0.0.1:$PORT"
SLOG="$RESULTS/switchyard-lib.log"
( export SWITCHYARD_ADMIN_TOKEN="$TOKEN"; exec "$BIN" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" ) >>"$SLOG" 2>&1 </dev/null &
SERVER_PID=$!
bench_wait_health "$BASE" "$SERVER_PID" "$SLOG"
log "switchyard pid $SERVER_PID on $BASE; $(nproc) vCPUs; ulimit -n $(ulimit -n)"
api() {  # api METHOD PATH [JSON_BODY] -> body on stdout; fails on non-2xx
  local m="$1" p="$2"; shift 2
  curl -fsS --max-time 10 -X "$m" -H "$AUTH" ${1:+-H 'Content-Type: application/json' --data-binary "$1"} "$BASE$p"
}
export SWITCHYARD_URL="$BASE" SWITCHYARD_TOKEN="$TOKEN"
FAILS=()

# --- 1. sy_flag_enabled of a 25 % rollout ------------------------------------------------------------------
FLAG_DOC='{"enabled":true,"rollout_percentage":25}'
api PUT /api/v1/params/bench/lib/rollout25 "$(jq -cn --arg v "$FLAG_DOC" '{value:$v,type:"Flag",overwrite:true}')" >/dev/null \
  || die "cannot write the flag /bench/lib/rollout25"
log "bench_lib_eval: $RUNS runs of $ITERS evaluations, 1 thread, then 1 2 4 8 threads"
if "$EVAL" --key bench/lib/rollout25 --runs "$RUNS" --iters "$ITERS" --threads "1 2 4 8" \
     >"$RESULTS/lib-eval.json" 2> >(tee "$RESULTS/lib-eval.txt" >&2) && jq -e . "$RESULTS/lib-eval.json" >/dev/null 2>&1; then :
else
  FAILS+=("bench_lib_eval failed (lib-eval.txt)"); echo '{}' >"$RESULTS/lib-eval.json"
fi

# --- 2. one PUT to N clients in event-loop mode --------------------------------------------------------------
log "bench_lib_propagate: $NCLIENTS clients in $NPROCS processes, one PUT"
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo -; }
srv_rss0="$(rss_kb "$SERVER_PID")"
if "$PROP" --clients "$NCLIENTS" --procs "$NPROCS" --name /bench/prop/x \
     >"$RESULTS/lib-propagate.json" 2> >(tee "$RESULTS/lib-propagate.txt" >&2); then :
else
  FAILS+=("bench_lib_propagate: not every client synced or got the change (lib-propagate.txt)")
fi
jq -e . "$RESULTS/lib-propagate.json" >/dev/null 2>&1 || echo '{}' >"$RESULTS/lib-propagate.json"
srv_rss1="$(rss_kb "$SERVER_PID")"
kill -0 "$SERVER_PID" 2>/dev/null || FAILS+=("switchyard exited during the lib bench (see switchyard-lib.log)")
stop_pid "$SERVER_PID"; SERVER_PID=""

# --- 3. results ----------------------------------------------------------------------------------------------
e() { jq -r "$1 // \"-\"" "$RESULTS/lib-eval.json" 2>/dev/null || echo -; }
p() { jq -r "$1 // \"-\"" "$RESULTS/lib-propagate.json" 2>/dev/null || echo -; }
met() { awk "BEGIN{exit !($1)}" 2>/dev/null && echo "yes" || echo "**no**"; }
single="$(e .single_ns)"; p99="$(p .delay_ms.p99)"; recv="$(p .received)"
eval_ok="$([ "$single" = - ] && echo "**no** (not measured)" || met "$single <= 200")"
prop_ok="$([ "$p99" = - ] && echo "**no** (not measured)" || met "$p99 <= 100 && $recv == $NCLIENTS")"
threads_txt="$(jq -r '[.threads[]? | "\(.threads) thr: \((.evals_per_s/1e6*100|round)/100) M/s, \(.ns_per_eval_thread) ns/eval/thread"] | join("; ")' "$RESULTS/lib-eval.json" 2>/dev/null || echo -)"
jq -n --slurpfile ev "$RESULTS/lib-eval.json" --slurpfile pr "$RESULTS/lib-propagate.json" \
  --arg srv0 "$srv_rss0" --arg srv1 "$srv_rss1" --arg cpus "$(nproc)" \
  '{eval: $ev[0], propagate: $pr[0], server_rss_kb: {before_clients: $srv0, after: $srv1}, cpus: ($cpus|tonumber),
    peers_poll_s: {runbook004_ssm_cache: 60, aws_appconfig_agent: 45, unleash_sdk: 15}}' >"$RESULTS/lib.json"
tsv() { printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(date -u +%FT%TZ)" "$@" >>"$RESULTS/summary.tsv"; }
tsv switchyard-lib-eval "$(e '.threads[]? | select(.threads==1) | .evals_per_s')" - - - \
  "sy_flag_enabled, 25 % rollout: $single ns single-threaded (median of $RUNS); $threads_txt"
tsv switchyard-lib-propagate - "$(p .delay_ms.p50)" "$p99" - \
  "one PUT to $(p .clients) event-loop clients: received $recv, max $(p .delay_ms.max) ms; $(p .rss_per_client_kb) kB RSS per client"
{
  echo "### libswitchyard in a program"
  echo
  echo "Against a fresh server on $BASE, $(nproc) vCPUs shared by the server and the clients; libswitchyard $(e .version)."
  echo
  echo "| measurement | result | target | met |"
  echo "|---|---|---|---|"
  echo "| \`sy_flag_enabled\` of a 25 % rollout, 1 thread (subjects varying: one SHA-256 each) | **$single ns** per evaluation (median of $RUNS runs of $ITERS; min $(e .single_min_ns) ns); $(e '(.share_on*1000|round)/10') % of subjects on | ≤ 200 ns | $eval_ok |"
  jq -r '.threads[]? | "| the same on \(.threads) thread\(if .threads > 1 then "s" else "" end) | \((.evals_per_s/1e6*100|round)/100) M evaluations/s in total (best run \((.best_evals_per_s/1e6*100|round)/100) M/s), \(.ns_per_eval_thread) ns per evaluation per thread | – | – |"' "$RESULTS/lib-eval.json" 2>/dev/null || true
  echo "| one PUT to $(p .clients) clients in event-loop mode ($(p .procs) processes, one epoll loop each): delay until each holds the new value | p50 **$(p .delay_ms.p50) ms**, p99 **$p99 ms**, max $(p .delay_ms.max) ms; received $recv/$(p .clients); the PUT's own 200 took $(p .put_ms) ms | p99 ≤ 100 ms, all receive | $prop_ok |"
  echo "| memory per client (VmRSS after $(p .synced) synced clients − before, / N) | $(p .rss_per_client_kb) kB per client ($(p .rss_before_kb) → $(p .rss_after_kb) kB over the workers), $(p .fds_per_client) descriptors per client; all synced in $(p .sync_ms) ms; server RSS $srv_rss0 → $srv_rss1 kB | – | – |"
  echo "| *peers: how long a change may take to reach a program (their polling intervals, not run)* | runbook 004's SSM cache: up to 60 s; AWS AppConfig agent: polls every 45 s; Unleash SDKs: every 15 s | | |"
  if [ "${#FAILS[@]}" -gt 0 ]; then echo; echo "**Checks failed:**"; printf -- '- %s\n' "${FAILS[@]}"; fi
} >"$MD"
echo; cat "$MD"; echo
echo "results: $RESULTS"
[ "${#FAILS[@]}" -eq 0 ]
