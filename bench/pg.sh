#!/usr/bin/env bash
# pg.sh BUILD_DIR — Switchyard on a PostgreSQL store: 3 `switchyard serve --store URL` nodes on one
# throwaway PostgreSQL (scripts/pg.sh; fsync and synchronous_commit on, as installed), beside one
# SQLite node and a single-member etcd (shared/peers/etcd.sh, fsync on), all in the same run:
#   1. durable PUTs, 50 writers (3 wrk -t1 processes run together, 17/17/16 connections, latency
#      histograms merged: bench/lua/hist.lua, pg_bench.js merge): on node A alone, then (B and C
#      joined) spread over the 3 nodes, and all on A with B and C following; the same writers against
#      the SQLite node and against etcd's JSON gateway. Every completed PUT must be one
#      version: once every node's /health seq has caught up, the latest versions are summed on node C;
#   2. reads on each node: GET /api/v1/params/bench/checkout and an OFREP evaluation (run_wrk);
#   3. propagation: PUTs on node A, one at a time, and the delay until watch streams on A, B and C
#      deliver each change (pg_bench.js prop); the same on the SQLite node and on etcd (watch and put
#      on its one member).
# Called by bench/run.sh (results in its PEERS_RESULTS_DIR); alone, results go to
# bench/results/<UTC stamp>-pg/. Writes pg.md, pg-*.json, the raw wrk outputs, the node logs and rows
# of summary.tsv. About 2.5 minutes.
# Env: PG_WRITERS (default 50), PG_PROP_N (PUTs timed for propagation, default 500),
#      PG_READ_DURATION / PG_READ_WARMUP (the read runs, default 5s / 1s; the PUT runs take
#      WRK_DURATION / WRK_WARMUP, 10s / 2s), PG_PORT (first port tried, default 28540),
#      SKIP_INSTALL=1 (etcd missing: do not run shared/peers/install.sh), PG_SKIP_ETCD=1.
# Without a PostgreSQL store in the binary (serve refuses --store) or without PostgreSQL, the PG rows
# say "not available" and the rest is measured. Exits non-zero when a check failed (non-2xx answers,
# versions that do not add up, a change a watcher never got, ids that differ between nodes).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))"
build="${1:?usage: bench/pg.sh BUILD_DIR}"
if [ -d "$build" ]; then BDIR="$(cd "$build" && pwd)"; else BDIR="$TOP/$build"; fi
BIN="$BDIR/switchyard"

RESULTS="${PEERS_RESULTS_DIR:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-pg}"
mkdir -p "$RESULTS"; touch "$RESULTS/summary.tsv"
MD="$RESULTS/pg.md"
TOKEN="bench-admin-token"; AUTH="Authorization: Bearer $TOKEN"
WRITERS="${PG_WRITERS:-50}"; NPROP="${PG_PROP_N:-500}"
READ_DUR="${PG_READ_DURATION:-5s}"; READ_WARMUP="${PG_READ_WARMUP:-1s}"
PEERS="$TOP/../shared/peers"
PGSH="$TOP/scripts/pg.sh"
JS="$HERE/pg_bench.js"

# shellcheck source=bench/server_common.sh
. "$HERE/server_common.sh"
[ -x "$BIN" ] || die "no switchyard binary in $BDIR (build first: make build)"
for t in wrk node jq curl; do command -v "$t" >/dev/null || die "$t is not installed (make bench installs it)"; done
if [ ! -f "$PEERS/common.sh" ]; then
  log "shared/peers not found at $PEERS: the PostgreSQL bench needs its run_wrk; skipped"
  printf '### PostgreSQL store\n\nnot measured: shared/peers/common.sh (run_wrk) is absent.\n' >"$MD"
  exit 0
fi

bench_setup pgbench
chmod 711 "$TMP"
PGDIR=""; PG_UP=0; ETCD_UP=0
export PEERS_RUN_DIR="$TMP/peers" PEERS_RESULTS_DIR="$RESULTS"   # etcd's data, pid and log in our scratch dir
# shellcheck source=/dev/null
. "$PEERS/common.sh"   # run_wrk, WRK_* (and log/die, the same as ours)
ETCD_PORT=""; ETCD_PEER=""
etcd_sh() { ETCD_CLIENT_PORT="$ETCD_PORT" ETCD_PEER_PORT="$ETCD_PEER" "$PEERS/etcd.sh" "$@"; }
bench_on_exit() {
  [ "$ETCD_UP" = 1 ] && etcd_sh stop --wipe >/dev/null 2>&1
  [ "$PG_UP" = 1 ] && "$PGSH" destroy "$PGDIR" >/dev/null 2>&1
  [ -n "$PGDIR" ] && rm -rf "$PGDIR"
  return 0
}

FAILS=(); NOTES=(); LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
fail() { log "CHECK FAILED: $*"; FAILS+=("$*"); }
tsv() { printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(date -u +%FT%TZ)" "$@" >>"$RESULTS/summary.tsv"; }
jf() { jq -r "$2 // \"-\"" "$RESULTS/$1" 2>/dev/null || echo -; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo -; }

# --- ports, the shared master key ----------------------------------------------------------------------
# below the ephemeral range (32768-60999 here): B and C start later, when a client socket of the
# earlier runs could otherwise hold their port
P_S="$(bench_free_port "${PG_PORT:-28540}")"; P_A="$(bench_free_port $((P_S + 1)))"
P_B="$(bench_free_port $((P_A + 1)))"; P_C="$(bench_free_port $((P_B + 1)))"
ETCD_PORT="$(bench_free_port $((P_C + 1)))"; ETCD_PEER="$(bench_free_port $((ETCD_PORT + 1)))"
S="http://127.0.0.1:$P_S"; A="http://127.0.0.1:$P_A"; B="http://127.0.0.1:$P_B"; C="http://127.0.0.1:$P_C"
EP="http://127.0.0.1:$ETCD_PORT"
head -c 32 /dev/urandom >"$TMP/master.key"; chmod 600 "$TMP/master.key"

start_node() {  # start_node NAME PORT SERVE_ARGS...: sets NODE_PID; 0 once /health answers, 1 if it exited or never answered
  local name="$1" port="$2" i lg="$RESULTS/switchyard-pg-$1.log"; shift 2
  ( export SWITCHYARD_ADMIN_TOKEN="$TOKEN" SWITCHYARD_MASTER_KEY_FILE="$TMP/master.key"
    exec "$BIN" serve --listen "127.0.0.1:$port" "$@" ) >>"$lg" 2>&1 </dev/null &
  NODE_PID=$!; BENCH_PIDS+=("$NODE_PID")
  for i in $(seq 1 300); do   # 15 s
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" 2>/dev/null && return 0
    kill -0 "$NODE_PID" 2>/dev/null || { log "node $name exited: $(tail -3 "$lg" | tr '\n' ' ')"; return 1; }
    sleep 0.05
  done
  log "node $name: /health did not answer within 15 s"; return 1
}
api() {  # api BASE METHOD PATH [JSON_BODY] -> body on stdout; fails on non-2xx
  local b="$1" m="$2" p="$3"; shift 3
  curl -fsS --max-time 10 -X "$m" -H "$AUTH" ${1:+-H 'Content-Type: application/json' --data-binary "$1"} "$b$p"
}
wait_value() {  # wait_value BASE PATH JQ_EXPR: until GET answers and the expression is true (10 s)
  local i
  for i in $(seq 1 200); do
    curl -fsS --max-time 2 -H "$AUTH" "$1$2" 2>/dev/null | jq -e "$3" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

# --- 1. PostgreSQL, the nodes, etcd ----------------------------------------------------------------------
PG_OK=0; PG_WHY=""; PGURL=""; PG_SETTINGS="-"
if [ ! -x "$PGSH" ]; then PG_WHY="scripts/pg.sh is absent"
elif ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then PG_WHY="PostgreSQL is not installed (make bench installs it)"
else
  PGDIR="$(mktemp -d /tmp/switchyard-pgbench-pg.XXXXXX)"
  log "starting a throwaway PostgreSQL in $PGDIR"
  if "$PGSH" start "$PGDIR" >/dev/null 2>"$RESULTS/pg-start.err"; then
    PG_UP=1
    PGURL="$("$PGSH" createdb "$PGDIR" switchyard_bench)"
    pgport="$(cat "$PGDIR/port")"
    PG_SETTINGS="$(psql -X -At -h 127.0.0.1 -p "$pgport" -U switchyard -d switchyard_bench \
      -c "select 'PostgreSQL ' || current_setting('server_version') || ', fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit') || ', wal_sync_method ' || current_setting('wal_sync_method') || ', max_connections ' || current_setting('max_connections')" 2>/dev/null || echo -)"
    log "$PGURL: $PG_SETTINGS"
    if start_node A "$P_A" --store "$PGURL" --data "$TMP/a"; then   # A first: it makes the schema
      PID_A="$NODE_PID"
      store="$(curl -fsS "$A/health" | jq -r '.store // empty')"
      if [ "$store" = postgres ]; then PG_OK=1
      else PG_WHY="node A's /health says store \"${store:-?}\", not postgres"; fi
    else
      lg="$RESULTS/switchyard-pg-A.log"
      PG_WHY="serve --store $PGURL: $( (grep -m1 -iE 'unknown|error|cannot|refus|master key' "$lg" || head -1 "$lg") | cut -c1-200)"
    fi
  else PG_WHY="scripts/pg.sh start failed: $(tail -2 "$RESULTS/pg-start.err" | tr '\n' ' ')"; fi
fi
if [ "$PG_OK" = 1 ]; then log "PostgreSQL store: node A $A (pid $PID_A); B and C start after A's run alone"
else
  log "PostgreSQL store not available: $PG_WHY"
  NOTES+=("PostgreSQL store not measured: $PG_WHY")
fi
start_node S "$P_S" --data "$TMP/s" || die "the SQLite node did not start (switchyard-pg-S.log)"
PID_S="$NODE_PID"
log "SQLite node S $S (pid $PID_S)"

if [ "${PG_SKIP_ETCD:-0}" != 1 ] && ! command -v etcd >/dev/null && [ "${SKIP_INSTALL:-0}" != 1 ]; then
  log "etcd is not installed: shared/peers/install.sh"; "$PEERS/install.sh" >&2 || true
fi
if [ "${PG_SKIP_ETCD:-0}" = 1 ]; then NOTES+=("PG_SKIP_ETCD=1: etcd not measured")
elif ! command -v etcd >/dev/null; then NOTES+=("etcd is not installed: not measured")
else
  ETCD_UP=1
  etcd_sh start >&2 || { ETCD_UP=0; NOTES+=("shared/peers/etcd.sh start failed: etcd not measured"); }
fi

# --- 2. durable PUTs, WRITERS connections in 3 wrk processes ----------------------------------------------
wrk_spread() {  # wrk_spread LABEL SCRIPT URL...: WRITERS connections in 3 wrk -t1 processes run together
  # (process i → URL i mod n, connections as even as may be), warm-up then the run, histograms merged
  # into LABEL.json and a summary.tsv row. Extra env for the script is taken from the caller.
  local label="$1" script="$2"; shift 2
  local urls=("$@") i c phase dur pids rc=0 conns=()
  rm -f "$RESULTS/hist-$label".*
  for phase in warmup run; do
    if [ "$phase" = warmup ]; then [ "$WRK_WARMUP" = 0 ] && continue; dur="$WRK_WARMUP"; else dur="$WRK_DURATION"; fi
    pids=()
    for i in 0 1 2; do
      c=$((WRITERS / 3 + (i < WRITERS % 3 ? 1 : 0)))
      [ "$phase" = run ] && conns+=("$c")
      SY_WRK_SCRIPT="$script" SY_PUT_SEED=$((i * 333)) \
      SY_HIST_FILE="$([ "$phase" = run ] && echo "$RESULTS/hist-$label.$i" || true)" \
        wrk -t1 -c"$c" -d"$dur" --latency -s "$HERE/lua/hist.lua" "${urls[i % ${#urls[@]}]}" \
        >"$RESULTS/wrk-$label.$phase.$i.txt" 2>&1 &
      pids+=("$!"); BENCH_PIDS+=("$!")
    done
    for i in "${pids[@]}"; do wait "$i" || rc=1; done
  done
  [ "$rc" = 0 ] || { fail "$label: a wrk process failed (wrk-$label.run.*.txt)"; echo '{}' >"$RESULTS/$label.json"; return 0; }
  node "$JS" merge "$RESULTS/hist-$label".* >"$RESULTS/$label.json" || fail "$label: no latency histogram to merge"
  local rps p50 p99 n2 errs
  rps="$(jf "$label.json" .rps)"; p50="$(jf "$label.json" .p50_ms)"; p99="$(jf "$label.json" .p99_ms)"; n2="$(jf "$label.json" .non2xx)"
  errs="$(jq -r '.socket_errors | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ") | if . == "" then "none" else . end' "$RESULTS/$label.json" 2>/dev/null || echo -)"
  printf '%-28s %12s req/s   p50 %8s ms   p99 %8s ms   non-2xx %s   socket-errors %s\n' "$label" "$rps" "$p50" "$p99" "$n2" "$errs"
  tsv "$label" "$rps" "$p50" "$p99" "$n2" "$WRITERS writers in 3 wrk -t1 processes (${conns[*]} connections) → ${#urls[@]} server(s); merged histograms; socket errors: $errs"
  [ "$n2" = 0 ] || fail "$label: $n2 non-2xx responses"
}
put_check() {  # put_check LABEL PREFIX READBACK_URL URL...: every completed PUT is one version, summed on
  # READBACK_URL once it and the writers' nodes have all reached the same seq
  local label="$1" prefix="$2" back="$3" sent sum out urls; shift 3
  urls="$(IFS=,; echo "$*,$back")"
  sent="$(awk '{s+=$1} END{print s+0}' "$TMP/$label.count")"
  node "$JS" sync --token "$TOKEN" --urls "$urls" --timeout-s 15 >"$RESULTS/$label.sync.json" || fail "$label: the nodes did not reach the same seq within 15 s ($(cat "$RESULTS/$label.sync.json"))"
  out="$(node "$JS" versions --token "$TOKEN" --url "$back" --prefix "$prefix")" || { fail "$label: cannot list $prefix on $back"; return 0; }
  sum="$(jq -r .versions <<<"$out")"
  log "$label: wrk completed $sent PUTs (warm-up included); $back holds $sum versions under $prefix ($(jq -c '{seqs, waited_ms}' "$RESULTS/$label.sync.json"))"
  echo "$sent $sum" >"$RESULTS/$label.versions"
  # requests in flight when wrk stops (warm-up and run) may commit without being counted: allow 2 × WRITERS over
  [ "$sum" -ge "$sent" ] && [ "$sum" -le $((sent + 2 * WRITERS)) ] || fail "$label: $sum versions stored for $sent completed PUTs"
}
pg_commits() {  # transactions committed in the store's database so far (every node's, reads included)
  psql -X -At -h 127.0.0.1 -p "$pgport" -U switchyard -d switchyard_bench \
    -c 'select xact_commit from pg_stat_database where datname = current_database()' 2>/dev/null || echo -
}
put_run() {  # put_run LABEL PREFIX READBACK_URL URL...: the writers over the URLs, then put_check
  local label="$1" prefix="$2" back="$3" x0=-; shift 3
  : >"$TMP/$label.count"
  case "$label" in pg-put-sqlite|pg-put-etcd) ;; *) sleep 1.2; x0="$(pg_commits)" ;; esac
  echo "== $label: durable PUT $prefix/<n % 1000>, $WRITERS writers over $(printf '%s\n' "$@" | sort -u | wc -l) node(s), wrk -d$WRK_DURATION after $WRK_WARMUP =="
  SY_TOKEN="$TOKEN" SY_PUT_PREFIX="$prefix" SY_PUT_NAMES=1000 SY_PUT_COUNT_FILE="$TMP/$label.count" \
    wrk_spread "$label" "$HERE/lua/put.lua" "$@"
  put_check "$label" "$prefix" "$back" "$@"
  # PostgreSQL commits during the warm-up and the run: how far writes were grouped. A backend reports
  # its counts within about a second of going idle (PostgreSQL 15), hence the pauses.
  [ "$x0" = - ] || { sleep 1.2; echo "$(( $(pg_commits) - x0 ))" >"$RESULTS/$label.xacts"; }
}

put_run pg-put-sqlite /bench/pgw "$S" "$S"
PG3=0
if [ "$PG_OK" = 1 ]; then
  # node A alone first (no other node yet), then B and C join: the same writers spread over the
  # three, and all on A again with B and C following its commits
  put_run pg-put-alone /bench/pgw0 "$A" "$A"
  P_B="$(bench_free_port "$P_B")"; P_C="$(bench_free_port "$P_C")"
  B="http://127.0.0.1:$P_B"; C="http://127.0.0.1:$P_C"
  if start_node B "$P_B" --store "$PGURL" --data "$TMP/b" && PID_B="$NODE_PID" &&
     start_node C "$P_C" --store "$PGURL" --data "$TMP/c" && PID_C="$NODE_PID"; then
    PG3=1
    log "nodes B $B (pid $PID_B) and C $C (pid $PID_C) joined"
    put_run pg-put-pg3 /bench/pgw "$C" "$A" "$B" "$C"
    put_run pg-put-pg1 /bench/pgw1 "$C" "$A"
  else fail "node B or C did not start on the store (switchyard-pg-B.log, switchyard-pg-C.log)"; fi
fi
if [ "$ETCD_UP" = 1 ]; then
  KEY="bench/checkout"
  VALUE='{"name":"checkout","enabled":true,"strategies":[{"name":"flexibleRollout","constraints":[],"parameters":{"groupId":"checkout","rollout":"50","stickiness":"userId"}}],"variants":[]}'
  echo "== pg-put-etcd: etcd gateway put (shared/peers/lua/etcd-put.lua), $WRITERS writers =="
  PEERS_ETCD_KEY_B64="$(printf '%s' "$KEY" | base64 -w0)" PEERS_ETCD_VALUE_B64="$(printf '%s' "$VALUE" | base64 -w0)" \
    wrk_spread pg-put-etcd "$PEERS/lua/etcd-put.lua" "$EP"
fi

# --- 3. reads on every node -----------------------------------------------------------------------------
VALUE='{"name":"checkout","enabled":true,"strategy":"flexibleRollout","rollout":"50","stickiness":"userId"}'
FLAG_DOC='{"enabled":true,"rollout_percentage":10,"min_stability_threshold":0.9,"max_buffer_timeout":5.0}'
CTX='{"context":{"targetingKey":"user-4242","country":"NL"}}'
param_body="$(jq -cn --arg v "$VALUE" '{value:$v,type:"String",overwrite:true}')"
flag_body="$(jq -cn --arg v "$FLAG_DOC" '{value:$v,type:"Flag",overwrite:true}')"
READ_NODES=(S); [ "$PG3" = 1 ] && READ_NODES+=(A B C)
node_url() { case "$1" in S) echo "$S" ;; A) echo "$A" ;; B) echo "$B" ;; C) echo "$C" ;; esac; }
api "$S" PUT /api/v1/params/bench/checkout "$param_body" >/dev/null
OFREP_OK=1
api "$S" PUT /api/v1/params/bench/flags/checkout "$flag_body" >/dev/null 2>&1 || OFREP_OK=0
if [ "$PG3" = 1 ]; then
  api "$A" PUT /api/v1/params/bench/checkout "$param_body" >/dev/null
  api "$A" PUT /api/v1/params/bench/flags/checkout "$flag_body" >/dev/null 2>&1 || OFREP_OK=0
fi
for n in "${READ_NODES[@]}"; do
  u="$(node_url "$n")"
  wait_value "$u" /api/v1/params/bench/checkout ".value == $(jq -cn --arg v "$VALUE" '$v')" || fail "node $n: /bench/checkout not readable within 10 s"
  if [ "$OFREP_OK" = 1 ]; then
    got="$(curl -sS --max-time 10 -X POST -H "$AUTH" -H 'Content-Type: application/json' --data-binary "$CTX" "$u/ofrep/v1/evaluate/flags/bench/flags/checkout" || true)"
    [ "$(jq -r '.key // empty' <<<"$got" 2>/dev/null)" = bench/flags/checkout ] || { OFREP_OK=0; NOTES+=("OFREP on node $n answered: $(head -c 200 <<<"$got")"); }
  fi
done
for n in "${READ_NODES[@]}"; do
  u="$(node_url "$n")"
  echo "== pg-get-$n: GET /api/v1/params/bench/checkout on node $n ($u) =="
  WRK_DURATION="$READ_DUR" WRK_WARMUP="$READ_WARMUP" run_wrk "pg-get-$n" "$u/api/v1/params/bench/checkout" -H "$AUTH"
  n2="$(awk -F': *' '/Non-2xx or 3xx responses/{print $2}' "$RESULTS/wrk-pg-get-$n.txt")"; [ "${n2:-0}" = 0 ] || fail "pg-get-$n: $n2 non-2xx responses"
done
if [ "$OFREP_OK" = 1 ]; then
  for n in "${READ_NODES[@]}"; do
    u="$(node_url "$n")"
    echo "== pg-ofrep-$n: OFREP POST /ofrep/v1/evaluate/flags/bench/flags/checkout on node $n =="
    SY_TOKEN="$TOKEN" SY_POST_BODY="$CTX" WRK_DURATION="$READ_DUR" WRK_WARMUP="$READ_WARMUP" \
      run_wrk "pg-ofrep-$n" "$u/ofrep/v1/evaluate/flags/bench/flags/checkout" -s "$HERE/lua/post.lua"
    n2="$(awk -F': *' '/Non-2xx or 3xx responses/{print $2}' "$RESULTS/wrk-pg-ofrep-$n.txt")"; [ "${n2:-0}" = 0 ] || fail "pg-ofrep-$n: $n2 non-2xx responses"
  done
else NOTES+=("OFREP not measured (the flag could not be written or evaluated)"); fi

# --- 4. propagation: a PUT on one node → the watch streams ----------------------------------------------
prop_run() {  # prop_run LABEL node-args...
  local label="$1"; shift
  log "$label: $NPROP PUTs, one at a time"
  timeout 120 node "$JS" "$@" --n "$NPROP" >"$RESULTS/$label.json" || fail "$label: not every change reached every watcher, or the ids differ ($label.json)"
  jq -e . "$RESULTS/$label.json" >/dev/null 2>&1 || { echo '{}' >"$RESULTS/$label.json"; fail "$label: no result"; }
}
[ "$PG3" = 1 ] && prop_run pg-prop-pg3 prop --token "$TOKEN" --put "$A" --watch "$C,$B,$A" --name /bench/prop/x
prop_run pg-prop-sqlite prop --token "$TOKEN" --put "$S" --watch "$S" --name /bench/prop/x
[ "$ETCD_UP" = 1 ] && prop_run pg-prop-etcd etcd-prop --url "$EP" --key bench/prop/x
w() { jq -r ".watchers[$2].delay_ms.$3 // \"-\"" "$RESULTS/$1.json" 2>/dev/null || echo -; }
if [ "$PG3" = 1 ]; then
  for k in 0 1 2; do
    tsv "pg-prop-A-to-$(echo C B A | cut -d' ' -f$((k + 1)))" - "$(w pg-prop-pg3 $k p50)" "$(w pg-prop-pg3 $k p99)" - \
      "PUT on node A → change on the watch stream of node $(echo C B A | cut -d' ' -f$((k + 1))), $NPROP PUTs one at a time; max $(w pg-prop-pg3 $k max) ms"
  done
fi
tsv pg-prop-sqlite - "$(w pg-prop-sqlite 0 p50)" "$(w pg-prop-sqlite 0 p99)" - "PUT → watch stream on the same SQLite node, $NPROP PUTs; max $(w pg-prop-sqlite 0 max) ms"
[ "$ETCD_UP" = 1 ] && tsv pg-prop-etcd - "$(w pg-prop-etcd 0 p50)" "$(w pg-prop-etcd 0 p99)" - "etcd put → watch on the same member (JSON gateway), $NPROP puts; max $(w pg-prop-etcd 0 max) ms"

# --- 5. node state, stop everything -----------------------------------------------------------------------
RSS=""; for n in "${READ_NODES[@]}"; do eval "p=\$PID_$n"; RSS+="$n $(rss_kb "$p") kB, "; done; RSS="${RSS%, }"
HEALTH=""
if [ "$PG3" = 1 ]; then
  for n in A B C; do
    HEALTH+="$n $(curl -fsS --max-time 2 "$(node_url "$n")/health" | jq -c '{status, leader, seq}' 2>/dev/null || echo down); "
    eval "p=\$PID_$n"; kill -0 "$p" 2>/dev/null || fail "node $n exited during the bench (switchyard-pg-$n.log)"
  done
  leaders="$(for n in A B C; do curl -fsS --max-time 2 "$(node_url "$n")/health" | jq -r '.leader // empty' 2>/dev/null; done | grep -c true || true)"
  [ "$leaders" = 1 ] || NOTES+=("$leaders nodes say leader: true in /health (expected exactly 1)")
fi
kill -0 "$PID_S" 2>/dev/null || fail "the SQLite node exited during the bench (switchyard-pg-S.log)"
ETCD_VER="$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: /etcd /p')"; ETCD_VER="${ETCD_VER:-etcd}"
for p in "${BENCH_PIDS[@]}"; do stop_pid "$p"; done; BENCH_PIDS=()
[ "$ETCD_UP" = 1 ] && { etcd_sh stop --wipe >/dev/null 2>&1 || true; ETCD_UP=0; }
[ "$PG_UP" = 1 ] && { "$PGSH" destroy "$PGDIR" >/dev/null 2>&1 || true; PG_UP=0; }

# --- 6. report --------------------------------------------------------------------------------------------
met() { awk "BEGIN{exit !($1)}" 2>/dev/null && echo "yes" || echo "**no**"; }
col() { awk -F'\t' -v l="$1" -v c="$2" '$2==l{v=$c} END{print (v=="" ? "-" : v)}' "$RESULTS/summary.tsv"; }
fmt_rps() { [ "$1" = - ] && echo - || awk -v v="$1" 'BEGIN{printf "%.0f", v}' | sed -e ':a' -e 's/\B[0-9]\{3\}\>/ &/' -e 'ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f×", a/b }'; }
row_put() {  # row_put LABEL TITLE
  local f="$1.json" v
  v="$([ -f "$RESULTS/$1.versions" ] && awk '{printf "%s PUTs → %s versions", $1, $2}' "$RESULTS/$1.versions" || echo "–")"
  [ -s "$RESULTS/$1.xacts" ] && v+="$(awk -v x="$(cat "$RESULTS/$1.xacts")" '{ if (x > 0) printf "; %d PostgreSQL commits (every node'"'"'s, catch-ups and polls included): %.1f PUTs per commit", x, $2 / x }' "$RESULTS/$1.versions")"
  echo "| $2 | $(fmt_rps "$(jf "$f" .rps)") | $(jf "$f" .p50_ms) | $(jf "$f" .p99_ms) | p90 $(jf "$f" .p90_ms), max $(jf "$f" .max_ms) ms; non-2xx $(jf "$f" .non2xx); $v | – | – |"
}
row_read() { echo "| $2 | $(fmt_rps "$(col "$1" 3)") | $(col "$1" 4) | $(col "$1" 5) | non-2xx $(col "$1" 6) | – | – |"; }
na="not available: ${PG_WHY:-?}"
pg_p99="$(w pg-prop-pg3 0 p99)"
prop_ok="$([ "$PG3" = 1 ] && [ "$pg_p99" != - ] && met "$pg_p99 <= 100 && $(jf pg-prop-pg3.json .watchers[0].received) == $NPROP" || echo "**no** (not measured)")"
{
  echo "### PostgreSQL store: 3 nodes on one PostgreSQL, beside SQLite and etcd"
  echo
  echo "$(nproc) vCPUs shared by everything (PostgreSQL, 3 nodes, the SQLite node, etcd, wrk, node). PostgreSQL: $PG_SETTINGS (scripts/pg.sh; a commit is durable). $ETCD_VER, one member, fsync on. Writes: $WRITERS writers in 3 \`wrk -t1\` processes run together ($((WRITERS / 3 + (0 < WRITERS % 3 ? 1 : 0)))/$((WRITERS / 3 + (1 < WRITERS % 3 ? 1 : 0)))/$((WRITERS / 3)) connections), one per node when spread over the PostgreSQL nodes, else all three on the one server; -d$WRK_DURATION after a $WRK_WARMUP warm-up; wrk's latency histograms (with its own correction for stalled requests, as in its printed percentiles) merged. Reads: \`wrk -t$WRK_THREADS -c$WRK_CONNS -d$READ_DUR\` after $READ_WARMUP, one node at a time. Load average at the start $LOAD0, at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| measurement | req/s | p50 ms | p99 ms | other | target | met |"
  echo "|---|---:|---:|---:|---|---|---|"
  if [ "$PG_OK" = 1 ]; then
    [ -f "$RESULTS/pg-put-pg3.json" ] && row_put pg-put-pg3 "durable PUT, $WRITERS writers over 3 nodes of one PostgreSQL store"
    [ -f "$RESULTS/pg-put-pg1.json" ] && row_put pg-put-pg1 "durable PUT, the same $WRITERS writers all on node A (B and C follow its commits)"
    row_put pg-put-alone "durable PUT, the same $WRITERS writers on node A alone (before B and C joined)"
  else echo "| durable PUT, $WRITERS writers over 3 nodes of one PostgreSQL store | – | – | – | $na | – | – |"; fi
  row_put pg-put-sqlite "durable PUT, $WRITERS writers, one SQLite node"
  [ -f "$RESULTS/pg-put-etcd.json" ] && row_put pg-put-etcd "*etcd gateway put, $WRITERS writers (same driver, same run)*"
  for n in "${READ_NODES[@]}"; do row_read "pg-get-$n" "GET /api/v1/params/bench/checkout, $([ "$n" = S ] && echo "SQLite node" || echo "PostgreSQL node $n")"; done
  if [ "$OFREP_OK" = 1 ]; then
    for n in "${READ_NODES[@]}"; do row_read "pg-ofrep-$n" "OFREP single flag (10 % rollout, targetingKey), $([ "$n" = S ] && echo "SQLite node" || echo "PostgreSQL node $n")"; done
  fi
  if [ "$PG3" = 1 ]; then
    pj() { jf pg-prop-pg3.json "$1"; }
    echo "| propagation: PUT on node A → change on node C's watch stream ($NPROP PUTs, one at a time) | – | $(w pg-prop-pg3 0 p50) | $pg_p99 | max $(w pg-prop-pg3 0 max) ms, received $(pj .watchers[0].received)/$NPROP; node B p50/p99 $(w pg-prop-pg3 1 p50)/$(w pg-prop-pg3 1 p99) ms; node A's own stream $(w pg-prop-pg3 2 p50)/$(w pg-prop-pg3 2 p99) ms; the PUT's 200 p50/p99 $(pj .put_ms.p50)/$(pj .put_ms.p99) ms; event ids equal on all nodes: $(pj .ids.compared) compared, $(pj .ids.differ) differ | p99 ≤ 100 ms | $prop_ok |"
  else echo "| propagation: PUT on node A → change on node C's watch stream | – | – | – | $na | p99 ≤ 100 ms | **no** (not measured) |"; fi
  echo "| propagation, SQLite: PUT → change on the same node's watch stream | – | $(w pg-prop-sqlite 0 p50) | $(w pg-prop-sqlite 0 p99) | max $(w pg-prop-sqlite 0 max) ms, received $(jf pg-prop-sqlite.json .watchers[0].received)/$NPROP; the PUT's 200 p50/p99 $(jf pg-prop-sqlite.json .put_ms.p50)/$(jf pg-prop-sqlite.json .put_ms.p99) ms | – | – |"
  [ -f "$RESULTS/pg-prop-etcd.json" ] && echo "| *etcd: put → watch on the same member (JSON gateway)* | – | $(w pg-prop-etcd 0 p50) | $(w pg-prop-etcd 0 p99) | max $(w pg-prop-etcd 0 max) ms, received $(jf pg-prop-etcd.json .watchers[0].received)/$NPROP; the put's 200 p50/p99 $(jf pg-prop-etcd.json .put_ms.p50)/$(jf pg-prop-etcd.json .put_ms.p99) ms | – | – |"
  echo
  pgw="$(jf pg-put-pg3.json .rps)"; sqw="$(jf pg-put-sqlite.json .rps)"; etw="$(jf pg-put-etcd.json .rps)"
  echo "Same-run ratios: durable writes, 3 PostgreSQL nodes / one SQLite node = **$(ratio "$pgw" "$sqw")**, / etcd = **$(ratio "$pgw" "$etw")**, / the same writers all on node A = $(ratio "$pgw" "$(jf pg-put-pg1.json .rps)"), / node A alone = $(ratio "$pgw" "$(jf pg-put-alone.json .rps)"); SQLite / etcd = $(ratio "$sqw" "$etw"); GET on PostgreSQL node A / SQLite node = $(ratio "$(col pg-get-A 3)" "$(col pg-get-S 3)")."
  echo
  echo "Nodes at the end: VmRSS $RSS$([ -n "$HEALTH" ] && echo "; /health: ${HEALTH%; }")."
  if [ "${#NOTES[@]}" -gt 0 ]; then echo; echo "Notes:"; printf -- '- %s\n' "${NOTES[@]}"; fi
  if [ "${#FAILS[@]}" -gt 0 ]; then echo; echo "**Checks failed:**"; printf -- '- %s\n' "${FAILS[@]}"; fi
} >"$MD"
echo; cat "$MD"; echo
echo "results: $RESULTS"
[ "${#FAILS[@]}" -eq 0 ]
