#!/usr/bin/env bash
# run.sh BUILD_DIR — Switchyard benchmarks on loopback, beside the peers (nginx, redis, etcd; Unleash
# with BENCH_UNLEASH=1) in the same run, with the same wrk settings (shared/peers/common.sh run_wrk).
# Results: bench/results/<UTC stamp>/ (summary.tsv in the peers' format, raw wrk outputs, report.md).
# Env: SKIP_PEERS=1, SKIP_INSTALL=1, BENCH_UNLEASH=1, BENCH_PORT (first port tried, default 58480),
#      BENCH_PARAMS (default 100000), BENCH_STARTS (default 5), BENCH_WATCH_N (default 10000),
#      BENCH_WATCH_PROCS (client processes for the watch streams, default 2), WRK_* as in shared/peers/common.sh,
#      SKIP_GATEWAY=1 (no bench/gateway.sh), GW_* as in bench/gateway.sh,
#      SKIP_LIB=1 (no bench/lib.sh), LIB_* as in bench/lib.sh,
#      SKIP_PG=1 (no bench/pg.sh), PG_* as in bench/pg.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))"
build="${1:?usage: bench/run.sh BUILD_DIR}"
if [ -x "$build/switchyard" ]; then BIN="$(cd "$build" && pwd)/switchyard"
elif [ -x "$TOP/$build/switchyard" ]; then BIN="$TOP/$build/switchyard"
else echo "bench/run.sh: no switchyard binary in $build (build first: make build)" >&2; exit 1; fi

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
export PEERS_RESULTS_DIR="$HERE/results/$STAMP"
mkdir -p "$PEERS_RESULTS_DIR"
PEERS="$TOP/../shared/peers"
TOKEN="bench-admin-token"
AUTH="Authorization: Bearer $TOKEN"
NPARAMS="${BENCH_PARAMS:-100000}"
NSTARTS="${BENCH_STARTS:-5}"

# --- the peers' helpers (run_wrk, log, die); a minimal stand-in when shared/ is absent ----------
if [ -f "$PEERS/common.sh" ]; then
  HAVE_PEERS=1
  # shellcheck source=/dev/null
  . "$PEERS/common.sh"
else
  HAVE_PEERS=0
  RESULTS_DIR="$PEERS_RESULTS_DIR"
  WRK_THREADS="${WRK_THREADS:-2}" WRK_CONNS="${WRK_CONNS:-50}" WRK_DURATION="${WRK_DURATION:-10s}" WRK_WARMUP="${WRK_WARMUP:-2s}"
  log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
  die() { log "ERROR: $*"; exit 1; }
  ms() { awk -v v="$1" 'BEGIN{n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
         if(u=="us") n/=1000; else if(u=="s") n*=1000; printf "%.3f", n}'; }
  run_wrk() {  # same settings, raw file name and summary.tsv columns as shared/peers/common.sh
    local label="$1" url="$2"; shift 2; local raw="$RESULTS_DIR/wrk-$label.txt"
    [ "$WRK_WARMUP" = 0 ] || wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$WRK_WARMUP" "$@" "$url" >/dev/null 2>&1 || true
    wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$WRK_DURATION" --latency "$@" "$url" >"$raw" 2>&1 || die "wrk failed for $label"
    local rps p50 p99 n2
    rps="$(awk '/^Requests\/sec:/{print $2}' "$raw")"; p50="$(ms "$(awk '$1=="50%"{print $2}' "$raw")")"
    p99="$(ms "$(awk '$1=="99%"{print $2}' "$raw")")"; n2="$(awk -F': *' '/Non-2xx/{print $2}' "$raw")"
    printf '%-28s %12s req/s   p50 %8s ms   p99 %8s ms   non-2xx %s\n' "$label" "$rps" "$p50" "$p99" "${n2:-0}"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(date -u +%FT%TZ)" "$label" "$rps" "$p50" "$p99" "${n2:-0}" "local fallback runner" >>"$RESULTS_DIR/summary.tsv"
  }
fi
touch "$PEERS_RESULTS_DIR/summary.tsv"

# --- tools ------------------------------------------------------------------------------------------
need=()
for t in wrk:wrk jq:jq curl:curl node:nodejs; do command -v "${t%%:*}" >/dev/null || need+=("${t#*:}"); done
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing ${need[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# 10 000 watch streams need as many descriptors in the client (and the server): raise the soft
# limit as far as allowed (65536, or the hard limit when that is lower and we may not raise it).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- processes we start, and their cleanup ----------------------------------------------------------
TMP="$(mktemp -d /tmp/switchyard-bench.XXXXXX)"
SERVER_PID=""; ETCD_UP=0; UNLEASH_UP=0; FAILS=(); NOTES=()
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  local i
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for i in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && { log "switchyard pid $SERVER_PID ignored SIGTERM; SIGKILL"; kill -KILL "$SERVER_PID" 2>/dev/null || true; }
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  local rc=$?
  set +e
  stop_server
  [ "$ETCD_UP" = 1 ] && "$PEERS/etcd.sh" stop --wipe >/dev/null 2>&1
  [ "$UNLEASH_UP" = 1 ] && "$PEERS/unleash.sh" stop --wipe >/dev/null 2>&1
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT="${BENCH_PORT:-58480}"
for _ in $(seq 1 20); do port_busy "$PORT" || break; PORT=$((PORT + 1)); done
port_busy "$PORT" && die "no free port near ${BENCH_PORT:-58480}"
LISTEN="127.0.0.1:$PORT"; BASE="http://$LISTEN"
export SWITCHYARD_ADMIN_TOKEN="$TOKEN"

AWS_AKID="AKIABENCHBENCHBENCH1"
AWS_SECRET="$(head -c 30 /dev/urandom | base64 | tr -d '\n')"   # 40 characters, fresh each run
start_server() {  # start_server DATA_DIR LOG [key]: with "key", the access key AWS_AKID/AWS_SECRET is created at start
  mkdir -p "$1"
  # the subshell execs the server (which execs switchyard-server): $! is the server's pid
  ( if [ "${3:-}" = key ]; then export SWITCHYARD_AWS_ACCESS_KEY_ID="$AWS_AKID" SWITCHYARD_AWS_SECRET_ACCESS_KEY="$AWS_SECRET"; fi
    exec "$BIN" serve --listen "$LISTEN" --data "$1" ) >>"$2" 2>&1 </dev/null &
  SERVER_PID=$!
  local i
  for i in $(seq 1 300); do   # 15 s deadline
    curl -fsS -o /dev/null --max-time 1 "$BASE/health" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$2" >&2; SERVER_PID=""; die "switchyard exited during start-up"; }
    sleep 0.05
  done
  tail -20 "$2" >&2; die "switchyard /health did not answer within 15 s"
}
api() {  # api METHOD PATH [JSON_BODY] -> body on stdout; fails on non-2xx
  local m="$1" p="$2"; shift 2
  curl -fsS --max-time 10 -X "$m" -H "$AUTH" ${1:+-H 'Content-Type: application/json' --data-binary "$1"} "$BASE$p"
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
non2xx() { local n; n="$(awk -F': *' '/Non-2xx or 3xx responses/{print $2}' "$PEERS_RESULTS_DIR/wrk-$1.txt")"; echo "${n:-0}"; }
sockerr() { grep -q 'Socket errors' "$PEERS_RESULTS_DIR/wrk-$1.txt" && grep 'Socket errors' "$PEERS_RESULTS_DIR/wrk-$1.txt" | sed 's/^ *//' || echo none; }
fail() { log "CHECK FAILED: $*"; FAILS+=("$*"); }
tsv() { printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(date -u +%FT%TZ)" "$@" >>"$PEERS_RESULTS_DIR/summary.tsv"; }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm); cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
  echo "loadavg at start: $(cat /proc/loadavg)"
  echo "wrk: -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION --latency (warm-up $WRK_WARMUP discarded)"
  echo "open files limit (ulimit -n): $(ulimit -n)"
  echo "switchyard: $BIN ($(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?')$([ -z "$(git -C "$TOP" status --porcelain -- src include CMakeLists.txt 2>/dev/null)" ] || echo ', uncommitted changes in src/'))"
  echo "peers: $([ "$HAVE_PEERS" = 1 ] && echo "$PEERS" || echo 'absent')"
} | tee "$PEERS_RESULTS_DIR/env.txt"

# --- 1. idle RSS and start-up time of an empty server -------------------------------------------------
log "start-up x$NSTARTS and idle RSS, empty data dir"
mkdir -p "$TMP/empty"
timeout 120 node "$HERE/startup.mjs" "$BIN" "$TMP/empty" "$LISTEN" "$NSTARTS" "$PEERS_RESULTS_DIR/switchyard-empty.log" 1000 \
  >"$PEERS_RESULTS_DIR/startup-empty.json" || die "start-up measurement (empty) failed; see $PEERS_RESULTS_DIR/switchyard-empty.log"
jq -c . "$PEERS_RESULTS_DIR/startup-empty.json"

# --- 2. reads --------------------------------------------------------------------------------------------
SLOG="$PEERS_RESULTS_DIR/switchyard.log"
start_server "$TMP/data" "$SLOG" key
log "switchyard pid $SERVER_PID on $BASE"
VALUE='{"name":"checkout","enabled":true,"strategy":"flexibleRollout","rollout":"50","stickiness":"userId"}'
api PUT /api/v1/params/bench/checkout "$(jq -cn --arg v "$VALUE" '{value:$v,type:"String",overwrite:true}')" >/dev/null
got="$(api GET /api/v1/params/bench/checkout)"
[ "$(jq -r .value <<<"$got")" = "$VALUE" ] || die "GET /bench/checkout returned an unexpected value: $got"
log "GET body is $(printf '%s' "$got" | wc -c) bytes (value ${#VALUE} bytes)"
echo "== switchyard GET /api/v1/params/bench/checkout, wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION =="
run_wrk switchyard-get "$BASE/api/v1/params/bench/checkout" -H "$AUTH"
[ "$(non2xx switchyard-get)" = 0 ] || fail "switchyard-get: $(non2xx switchyard-get) non-2xx responses"

# --- 2b. the same parameter through the SSM API, SigV4-signed, bracketed by a second native GET run ----
# One request is pre-signed (x-amz-date = now; the server allows 5 minutes and does not reject replays)
# and replayed by wrk for the warm-up and the run. Checked with curl first.
SSM_OK=0
log "pre-signing AmazonSSM.GetParameter /bench/checkout (SigV4, ssm, us-east-1)"
if SY_AWS_SECRET="$AWS_SECRET" node "$HERE/sign.mjs" "$LISTEN" "$AWS_AKID" /bench/checkout "$TMP/ssm.lua" "$TMP/ssm.hdr" us-east-1 \
     >"$PEERS_RESULTS_DIR/ssm-signed.json"; then
  ssm_got="$(curl -sS --max-time 10 -o "$TMP/ssm.body" -w '%{http_code}' -X POST -H @"$TMP/ssm.hdr" \
             --data-binary "$(jq -r .body "$PEERS_RESULTS_DIR/ssm-signed.json")" "$BASE/" || true)"
  if [ "$ssm_got" = 200 ] && [ "$(jq -r '.Parameter.Value // empty' "$TMP/ssm.body" 2>/dev/null)" = "$VALUE" ]; then
    SSM_OK=1
    log "pre-signed GetParameter answers 200 with the parameter ($(wc -c <"$TMP/ssm.body") bytes)"
  else
    fail "pre-signed SSM GetParameter answered HTTP ${ssm_got:-?}: $(head -c 300 "$TMP/ssm.body" 2>/dev/null)"
  fi
else
  fail "bench/sign.mjs failed"
fi
if [ "$SSM_OK" = 1 ]; then
  echo "== switchyard SSM GetParameter (POST /, SigV4), wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION =="
  run_wrk switchyard-ssm-get "$BASE/" -s "$TMP/ssm.lua"
  [ "$(non2xx switchyard-ssm-get)" = 0 ] || fail "switchyard-ssm-get: $(non2xx switchyard-ssm-get) non-2xx responses"
fi
echo "== switchyard GET /api/v1/params/bench/checkout again (second native run, after the SSM run) =="
run_wrk switchyard-get-2 "$BASE/api/v1/params/bench/checkout" -H "$AUTH"
[ "$(non2xx switchyard-get-2)" = 0 ] || fail "switchyard-get-2: $(non2xx switchyard-get-2) non-2xx responses"
rss_after_get="$(rss_kb "$SERVER_PID")"

# --- 2c. flags: OFREP single-flag and bulk evaluation over HTTP, and in-process evaluation ---------------
# A percentage flag (10 %, a context with a targetingKey: one SHA-256 per evaluation), bracketed by
# the native GET runs above; then bulk evaluation of 100 flags; then the in-process evaluator
# (bench_flag) beside one SHA-256 of 48 bytes and Unleash's Node SDK (shared/peers/node/eval-bench.js).
FLAG_DOC='{"enabled":true,"rollout_percentage":10,"min_stability_threshold":0.9,"max_buffer_timeout":5.0}'
flag_put() { api PUT "/api/v1/params$1" "$(jq -cn --arg v "$FLAG_DOC" '{value:$v,type:"Flag",overwrite:true}')" >/dev/null; }
if flag_put /bench/flags/checkout 2>/dev/null; then
  for i in $(seq 0 98); do flag_put "/bench/flags/bulk/f$i"; done
  CTX='{"context":{"targetingKey":"user-4242","country":"NL"}}'
  ofrep_got="$(curl -sS --max-time 10 -X POST -H "$AUTH" -H 'Content-Type: application/json' --data-binary "$CTX" \
               "$BASE/ofrep/v1/evaluate/flags/bench/flags/checkout" || true)"
  if [ "$(jq -r '.key // empty' <<<"$ofrep_got" 2>/dev/null)" = bench/flags/checkout ]; then
    log "OFREP answers: $ofrep_got"
    echo "== switchyard OFREP POST /ofrep/v1/evaluate/flags/bench/flags/checkout =="
    SY_POST_BODY="$CTX" run_wrk switchyard-ofrep "$BASE/ofrep/v1/evaluate/flags/bench/flags/checkout" -s "$HERE/lua/post.lua"
    [ "$(non2xx switchyard-ofrep)" = 0 ] || fail "switchyard-ofrep: $(non2xx switchyard-ofrep) non-2xx responses"
    echo "== switchyard OFREP bulk POST /ofrep/v1/evaluate/flags (100 flags) =="
    SY_POST_BODY="$CTX" run_wrk switchyard-ofrep-bulk "$BASE/ofrep/v1/evaluate/flags" -s "$HERE/lua/post.lua"
    echo "== switchyard GET /api/v1/params/bench/checkout (third native run, after OFREP) =="
    run_wrk switchyard-get-3 "$BASE/api/v1/params/bench/checkout" -H "$AUTH"
  else
    fail "OFREP single evaluation answered: $(head -c 300 <<<"$ofrep_got")"
  fi
else
  fail "cannot create a flag (kind Flag)"
fi
if [ -x "$(dirname "$BIN")/bench_flag" ]; then
  "$(dirname "$BIN")/bench_flag" >"$PEERS_RESULTS_DIR/flag-eval.txt" 2>&1 || fail "bench_flag failed"
  cat "$PEERS_RESULTS_DIR/flag-eval.txt"
fi
if [ -f "$PEERS/node/eval-bench.js" ] && [ -d "$PEERS/node/node_modules" ]; then
  (cd "$PEERS/node" && timeout 120 node eval-bench.js) >"$PEERS_RESULTS_DIR/unleash-eval.txt" 2>&1 || true
  tail -5 "$PEERS_RESULTS_DIR/unleash-eval.txt"
fi

# --- 3. durable writes -----------------------------------------------------------------------------------
put_bench() {  # put_bench LABEL THREADS CONNS PREFIX
  local label="$1" t="$2" c="$3" prefix="$4" cnt="$TMP/$1.count"
  : >"$cnt"
  export SY_TOKEN="$TOKEN" SY_PUT_PREFIX="$prefix" SY_PUT_NAMES=1000 SY_PUT_COUNT_FILE="$cnt"
  echo "== switchyard durable PUT $prefix/<n % 1000>, wrk -t$t -c$c =="
  WRK_THREADS="$t" WRK_CONNS="$c" run_wrk "$label" "$BASE" -s "$HERE/lua/put.lua"
  [ "$(non2xx "$label")" = 0 ] || fail "$label: $(non2xx "$label") non-2xx responses"
  # every completed PUT (warm-up included) must be one version: sum the latest versions of the 1000 names
  local sent sum=0 next="" page
  sent="$(awk '{s+=$1} END{print s+0}' "$cnt")"
  while :; do
    page="$(api GET "/api/v1/params?path=$prefix&limit=1000${next:+&next=$next}")" || { sum=""; break; }
    sum=$((sum + $(jq '[.params[].version] | add // 0' <<<"$page")))
    next="$(jq -r '.next // empty' <<<"$page")"; [ -n "$next" ] || break
  done
  if [ -z "$sum" ]; then   # list API unavailable: one parameter's version against the average
    local v0; v0="$(api GET "/api/v1/params$prefix/0" | jq .version)"
    log "$label: list failed; $prefix/0 is at version $v0, expected about $((sent / 1000))"
    awk -v v="$v0" -v e="$((sent / 1000))" 'BEGIN{exit !(v >= e*0.8 && v <= e*1.2 + 2)}' || fail "$label: $prefix/0 version $v0, expected ≈$((sent / 1000))"
  else
    log "$label: wrk completed $sent PUTs (with warm-up); the server holds $sum versions under $prefix"
    # requests in flight when wrk stops may commit without being counted by wrk: allow 2*CONNS over
    [ "$sum" -ge "$sent" ] && [ "$sum" -le $((sent + 2 * c)) ] || fail "$label: $sum versions stored for $sent completed PUTs"
  fi
  echo "$sent $sum" >"$PEERS_RESULTS_DIR/$label.versions"
}
put_bench switchyard-put-1w 1 1 /bench/w1
put_bench switchyard-put-50w "$WRK_THREADS" "$WRK_CONNS" /bench/w50
rss_after_put="$(rss_kb "$SERVER_PID")"

# --- 3b. 10 000 idle watch subscribers, one change fanned out to all --------------------------------------
WATCH_N="${BENCH_WATCH_N:-10000}"
log "watch: $WATCH_N idle streams on prefix /w10k ($(ulimit -n) fds allowed here), then one PUT /w10k/x"
timeout --foreground 90 node "$HERE/watch10k.mjs" "$BASE" "$TOKEN" "$SERVER_PID" "$WATCH_N" /w10k "${BENCH_WATCH_PROCS:-2}" 60 \
  >"$PEERS_RESULTS_DIR/watch10k.json" || fail "watch10k: $WATCH_N streams not all held/served (see watch10k.json)"
if [ -s "$PEERS_RESULTS_DIR/watch10k.json" ] && jq -e . "$PEERS_RESULTS_DIR/watch10k.json" >/dev/null 2>&1; then jq -c . "$PEERS_RESULTS_DIR/watch10k.json"
else echo '{}' >"$PEERS_RESULTS_DIR/watch10k.json"; fail "watch10k.mjs printed no JSON"; fi
tsv switchyard-watch10k - "$(jq -r '.fanout_ms.p50 // "-"' "$PEERS_RESULTS_DIR/watch10k.json")" \
  "$(jq -r '.fanout_ms.p99 // "-"' "$PEERS_RESULTS_DIR/watch10k.json")" - \
  "$(jq -r '"fan-out delay p50/p99 ms of one PUT to \(.held // 0) idle streams (\(.received // 0) received, max \(.fanout_ms.max // "-") ms); server VmRSS idle \(.idle.rss_kb // "-") kB, \(.idle.threads // "-") threads"' "$PEERS_RESULTS_DIR/watch10k.json")"
kill -0 "$SERVER_PID" 2>/dev/null || die "switchyard exited during the watch test; see $SLOG"
stop_server

# --- 4. start-up time and RSS with NPARAMS parameters ------------------------------------------------------
log "loading $NPARAMS parameters"
start_server "$TMP/big" "$SLOG"
timeout 240 node "$HERE/load.mjs" "$BASE" "$TOKEN" "$NPARAMS" /bench/load >"$PEERS_RESULTS_DIR/load.json" \
  || { cat "$PEERS_RESULTS_DIR/load.json" >&2; die "loading $NPARAMS parameters failed"; }
jq -c . "$PEERS_RESULTS_DIR/load.json"
rss_loaded="$(rss_kb "$SERVER_PID")"
stop_server
log "data dir with $NPARAMS parameters: $(du -sh "$TMP/big" | cut -f1)"
log "start-up x$NSTARTS with $NPARAMS parameters"
timeout 240 node "$HERE/startup.mjs" "$BIN" "$TMP/big" "$LISTEN" "$NSTARTS" "$PEERS_RESULTS_DIR/switchyard-100k.log" 1000 \
  >"$PEERS_RESULTS_DIR/startup-100k.json" || die "start-up measurement ($NPARAMS) failed; see $PEERS_RESULTS_DIR/switchyard-100k.log"
jq -c . "$PEERS_RESULTS_DIR/startup-100k.json"
rm -rf "$TMP/big" "$TMP/data" "$TMP/empty"

je() { jq -r "$1 // \"-\"" "$PEERS_RESULTS_DIR/$2"; }
tsv switchyard-start-empty - "$(je .median_health_ms startup-empty.json)" "$(je .max_health_ms startup-empty.json)" - \
  "start-up to /health, median/max of $NSTARTS; idle VmRSS $(je .median_rss_kb startup-empty.json) kB"
tsv switchyard-start-100k - "$(je .median_health_ms startup-100k.json)" "$(je .max_health_ms startup-100k.json)" - \
  "$NPARAMS params: start-up to /health, median/max of $NSTARTS; log line $(je .median_log_seen_ms startup-100k.json) ms; idle VmRSS $(je .median_rss_kb startup-100k.json) kB"

# --- 5. peers, one at a time, same run --------------------------------------------------------------------
if [ "$HAVE_PEERS" = 0 ]; then
  log "shared/peers not found at $PEERS: skipping the peers (no same-run ratios)"
  NOTES+=("shared/peers absent: peers skipped, no same-run ratios")
elif [ "${SKIP_PEERS:-0}" = 1 ]; then
  log "SKIP_PEERS=1: skipping the peers"
else
  # a failing peer is noted in the report; it does not stop the run
  [ "${SKIP_INSTALL:-0}" = 1 ] || "$PEERS/install.sh" || NOTES+=("peers/install.sh failed")
  "$PEERS/bench-limit.sh" || NOTES+=("peers/bench-limit.sh failed")
  "$PEERS/etcd.sh" stop --wipe >/dev/null 2>&1 || true   # clean slate
  ETCD_UP=1
  if "$PEERS/etcd.sh" start; then "$PEERS/bench-etcd.sh" || NOTES+=("peers/bench-etcd.sh failed")
  else NOTES+=("peers/etcd.sh start failed"); fi
  "$PEERS/etcd.sh" stop --wipe || true; ETCD_UP=0
  if [ "${BENCH_UNLEASH:-0}" = 1 ]; then
    UNLEASH_UP=1
    if "$PEERS/unleash.sh" start; then "$PEERS/bench-unleash.sh" || NOTES+=("peers/bench-unleash.sh failed")
    else NOTES+=("peers/unleash.sh start failed"); fi
    "$PEERS/unleash.sh" stop --wipe || true; UNLEASH_UP=0
  fi
fi

# --- 5b. the AI gateway: overhead over a fixed nginx upstream, open-loop load (bench/gateway.sh) ------------
if [ "${SKIP_GATEWAY:-0}" = 1 ]; then log "SKIP_GATEWAY=1: skipping the gateway bench"
else "$HERE/gateway.sh" "$build" || NOTES+=("bench/gateway.sh failed"); fi

# --- 5c. libswitchyard in a program: flag evaluation, one PUT to 1000 clients (bench/lib.sh) ---------------
if [ "${SKIP_LIB:-0}" = 1 ]; then log "SKIP_LIB=1: skipping the lib bench"
else "$HERE/lib.sh" "$build" || fail "bench/lib.sh: a check failed (see lib.md)"; fi
if [ "${SKIP_ROLLOUT:-0}" = 1 ]; then log "SKIP_ROLLOUT=1: skipping the rollout bench"; else "$HERE/rollout.sh" "$build" || NOTES+=("bench/rollout.sh failed (see rollout.md, rollout.txt)"); fi
# --- 5d. the PostgreSQL store: 3 nodes on one PostgreSQL beside SQLite and etcd (bench/pg.sh) ------------
if [ "${SKIP_PG:-0}" = 1 ]; then log "SKIP_PG=1: skipping the PostgreSQL store bench"
else "$HERE/pg.sh" "$build" || fail "bench/pg.sh: a check failed (see pg.md)"; fi
if [ "${SKIP_CONSOLE:-0}" = 1 ]; then log "SKIP_CONSOLE=1: skipping the console bench"; else "$HERE/console.sh" "$build" || fail "bench/console.sh: the console could not be measured (see console.md, console.txt)"; fi
echo "loadavg at end: $(cat /proc/loadavg)" | tee -a "$PEERS_RESULTS_DIR/env.txt"

# --- 6. report --------------------------------------------------------------------------------------------
col() { awk -F'\t' -v l="$1" -v c="$2" '$2==l{v=$c} END{print (v=="" ? "-" : v)}' "$PEERS_RESULTS_DIR/summary.tsv"; }
fmt_rps() { [ "$1" = - ] && echo - || awk -v v="$1" 'BEGIN{printf "%.0f", v}' | sed -e ':a' -e 's/\B[0-9]\{3\}\>/ &/' -e 'ta'; }
mib() { awk -v k="$1" 'BEGIN{ if (k=="" || k=="-" || k=="null") print "-"; else printf "%.1f MiB", k/1024 }'; }
met() { awk "BEGIN{exit !($1)}" 2>/dev/null && echo "yes" || echo "**no**"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f×", a/b }'; }

g_rps="$(col switchyard-get 3)"; g_p50="$(col switchyard-get 4)"; g_p99="$(col switchyard-get 5)"
g2_rps="$(col switchyard-get-2 3)"; ssm_rps="$(col switchyard-ssm-get 3)"
# the SSM run's reference: the mean of the two native runs either side of it
g_ref="$(awk -v a="$g_rps" -v b="$g2_rps" 'BEGIN{ if (a=="-"||b=="-") print "-"; else printf "%.2f", (a+b)/2 }')"
ssm_ok="$([ "$ssm_rps" = - ] || [ "$g_ref" = - ] && echo "**no** (not measured)" || met "$ssm_rps >= 0.85 * $g_ref")"
wj() { jq -r "$1 // \"-\"" "$PEERS_RESULTS_DIR/watch10k.json" 2>/dev/null || echo -; }
w_held="$(wj .held)"; w_recv="$(wj .received)"
watch_ok="$(met "\"$(wj .ok)\" == \"true\" && \"$w_held\" == \"$WATCH_N\" && \"$w_recv\" == \"$WATCH_N\"")"
w1_rps="$(col switchyard-put-1w 3)"; w50_rps="$(col switchyard-put-50w 3)"
s_med="$(je .median_health_ms startup-100k.json)"; s_log="$(je .median_log_seen_ms startup-100k.json)"
s_stamp="$(je .median_log_stamp_ms startup-100k.json)"; s_self="$(je .median_self_ms startup-100k.json)"
rss_empty="$(je .median_rss_kb startup-empty.json)"; rss_100k="$(je .median_rss_kb startup-100k.json)"
ngx="$(col nginx-static-1worker 3)"; etcd_put="$(col etcd-gw-put 3)"
g_ok="$(met "$g_rps >= 50000 && $g_p99 <= 3")"
w_ok="$(met "$w50_rps >= 10000")"
r_ok="$(met "$rss_empty <= 10240")"
s_ok="$(met "$s_med <= 200")"

REPORT="$PEERS_RESULTS_DIR/report.md"
{
  echo "## Switchyard benchmark, $STAMP"
  echo
  echo "wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION --latency after a $WRK_WARMUP warm-up, loopback, $(nproc) vCPUs shared by load generator and server."
  echo
  echo "| measurement | req/s | p50 ms | p99 ms | other | target | met |"
  echo "|---|---:|---:|---:|---|---|---|"
  echo "| GET /api/v1/params/bench/checkout | $(fmt_rps "$g_rps") | $g_p50 | $g_p99 | non-2xx $(non2xx switchyard-get), $(sockerr switchyard-get) | ≥ 50 000 req/s, p99 ≤ 3 ms | $g_ok |"
  echo "| SSM GetParameter, SigV4-signed (POST /, ssm, us-east-1) | $(fmt_rps "$ssm_rps") | $(col switchyard-ssm-get 4) | $(col switchyard-ssm-get 5) | **$(ratio "$ssm_rps" "$g_ref")** of native (mean of the runs before and after: $(fmt_rps "$g_ref")); non-2xx $([ "$ssm_rps" = - ] && echo - || non2xx switchyard-ssm-get) | SSM signed GetParameter ≥ 0.85 × native GET | $ssm_ok |"
  o_rps="$(col switchyard-ofrep 3)"; g3_rps="$(col switchyard-get-3 3)"
  o_ref="$(awk -v a="$g2_rps" -v b="$g3_rps" 'BEGIN{ if (a=="-"||b=="-") print "-"; else printf "%.2f", (a+b)/2 }')"
  o_ok="$([ "$o_rps" = - ] || [ "$o_ref" = - ] && echo "**no** (not measured)" || met "$o_rps >= 60000 && $o_rps >= 0.8 * $o_ref")"
  echo "| OFREP single flag (10 % rollout, targetingKey) | $(fmt_rps "$o_rps") | $(col switchyard-ofrep 4) | $(col switchyard-ofrep 5) | **$(ratio "$o_rps" "$o_ref")** of native GET (mean of the runs before and after: $(fmt_rps "$o_ref")); non-2xx $([ "$o_rps" = - ] && echo - || non2xx switchyard-ofrep) | ≥ 60 000 req/s and ≥ 0.8 × native GET | $o_ok |"
  echo "| OFREP bulk, 100 flags | $(fmt_rps "$(col switchyard-ofrep-bulk 3)") | $(col switchyard-ofrep-bulk 4) | $(col switchyard-ofrep-bulk 5) | – | reported | – |"
  if [ -f "$PEERS_RESULTS_DIR/flag-eval.txt" ]; then
    echo "| in-process evaluation of a percentage flag | $(tr '\n' ' ' <"$PEERS_RESULTS_DIR/flag-eval.txt" | cut -c1-200) | | | | ≤ 200 ns | |"
  fi
  if [ -f "$PEERS_RESULTS_DIR/unleash-eval.txt" ]; then
    echo "| *Unleash Node SDK evaluation (same run)* | $(tail -3 "$PEERS_RESULTS_DIR/unleash-eval.txt" | tr '\n' ' ' | cut -c1-200) | | | | | |"
  fi
  echo "| GET /api/v1/params/bench/checkout, second run after SSM | $(fmt_rps "$g2_rps") | $(col switchyard-get-2 4) | $(col switchyard-get-2 5) | non-2xx $(non2xx switchyard-get-2) | – | – |"
  echo "| durable PUT, 1 writer (-t1 -c1) | $(fmt_rps "$w1_rps") | $(col switchyard-put-1w 4) | $(col switchyard-put-1w 5) | non-2xx $(non2xx switchyard-put-1w) | – | – |"
  echo "| durable PUT, $WRK_CONNS writers (-t$WRK_THREADS -c$WRK_CONNS) | $(fmt_rps "$w50_rps") | $(col switchyard-put-50w 4) | $(col switchyard-put-50w 5) | non-2xx $(non2xx switchyard-put-50w), $(sockerr switchyard-put-50w) | ≥ 10 000/s | $w_ok |"
  echo "| start-up to /health, $NPARAMS params (median of $NSTARTS) | – | $s_med | max $(je .max_health_ms startup-100k.json) | \"listening\" line seen at $s_log ms$([ "$s_stamp" = - ] || echo ", stamped $s_stamp ms")$([ "$s_self" = - ] || echo ", server's own startup_ms $s_self") | ≤ 200 ms | $s_ok |"
  echo "| start-up to /health, empty (median of $NSTARTS) | – | $(je .median_health_ms startup-empty.json) | max $(je .max_health_ms startup-empty.json) | \"listening\" line seen at $(je .median_log_seen_ms startup-empty.json) ms | – | – |"
  echo "| idle RSS, empty server | – | – | – | $(mib "$rss_empty") (VmRSS, 1 s after /health) | ≤ 10 MB (10 MiB) | $r_ok |"
  echo "| idle RSS, $NPARAMS params | – | – | – | $(mib "$rss_100k") (peak VmHWM $(mib "$(je .median_hwm_kb startup-100k.json)")) | – | – |"
  echo "| RSS after GET / after PUT runs / after loading $NPARAMS | – | – | – | $(mib "$rss_after_get") / $(mib "$rss_after_put") / $(mib "$rss_loaded") | – | – |"
  echo "| $WATCH_N idle watch subscribers: one PUT fanned out (delay p50 / p99, max $(wj .fanout_ms.max) ms) | – | $(wj .fanout_ms.p50) | $(wj .fanout_ms.p99) | held $w_held/$WATCH_N (opened in $(wj .open_ms) ms), received $w_recv/$WATCH_N; server RSS $(mib "$(wj .before.rss_kb)") → $(mib "$(wj .idle.rss_kb)") with all idle ($(wj .rss_per_sub_kb) kB/stream), $(wj .idle.threads) threads, $(wj .idle.fds) fds; PUT $(wj .put_ms) ms; after close: /health $(wj .health_after), RSS $(mib "$(wj .after_close.rss_kb)"), connections released after $(wj .released_ms) ms | hold 10,000 idle subscribers | $watch_ok |"
  if [ "$ngx" != - ]; then
    echo "| *nginx static 100 B, 1 worker* | $(fmt_rps "$ngx") | $(col nginx-static-1worker 4) | $(col nginx-static-1worker 5) | same run | | |"
    echo "| *nginx static 100 B, 2 workers* | $(fmt_rps "$(col nginx-static-2workers 3)") | $(col nginx-static-2workers 4) | $(col nginx-static-2workers 5) | same run | | |"
    echo "| *redis-benchmark GET / SET* | $(fmt_rps "$(col redis-get 3)") / $(fmt_rps "$(col redis-set 3)") | $(col redis-get 4) / $(col redis-set 4) | – | same run | | |"
  fi
  if [ "$etcd_put" != - ]; then
    echo "| *etcd gateway put (fsync on)* | $(fmt_rps "$etcd_put") | $(col etcd-gw-put 4) | $(col etcd-gw-put 5) | same run | | |"
    echo "| *etcd gateway range (linearizable)* | $(fmt_rps "$(col etcd-gw-range 3)") | $(col etcd-gw-range 4) | $(col etcd-gw-range 5) | same run | | |"
  fi
  if [ "$(col unleash-client-features 3)" != - ]; then
    echo "| *unleash GET /api/client/features* | $(fmt_rps "$(col unleash-client-features 3)") | $(col unleash-client-features 4) | $(col unleash-client-features 5) | same run | | |"
  fi
  echo
  echo "Same-run ratios: reads / nginx 1 worker = **$(ratio "$g_rps" "$ngx")**; durable writes ($WRK_CONNS writers) / etcd gateway put = **$(ratio "$w50_rps" "$etcd_put")**; SSM signed GetParameter / native GET = **$(ratio "$ssm_rps" "$g_ref")** (vs the run before: $(ratio "$ssm_rps" "$g_rps"), after: $(ratio "$ssm_rps" "$g2_rps"))."
  echo
  echo "The machine is a shared, noisy $(nproc)-vCPU VM (loadavg $(cut -d' ' -f1-3 /proc/loadavg) at the end); wrk and the watch clients share the cores with the server, so absolute figures move 10–20 % between runs: compare same-run ratios."
  echo
  echo "Loading: $(jq -r '"\(.params) params via \(.method) in \(.load_s) s\(if .chunks then " (\(.chunks) chunks)" else "" end), listed back \(.listed // "n/a")\(if .note != "" then "; " + .note else "" end)"' "$PEERS_RESULTS_DIR/load.json")."
  echo "Version check: $(awk '{printf "1 writer: %s completed PUTs → %s versions; ", $1, $2}' "$PEERS_RESULTS_DIR/switchyard-put-1w.versions")$(awk '{printf "%s writers: %s completed PUTs → %s versions.", c, $1, $2}' c="$WRK_CONNS" "$PEERS_RESULTS_DIR/switchyard-put-50w.versions")"
  if [ -f "$PEERS_RESULTS_DIR/gateway.md" ]; then echo; cat "$PEERS_RESULTS_DIR/gateway.md"; fi
  if [ -f "$PEERS_RESULTS_DIR/lib.md" ]; then echo; cat "$PEERS_RESULTS_DIR/lib.md"; fi
  if [ -f "$PEERS_RESULTS_DIR/pg.md" ]; then echo; cat "$PEERS_RESULTS_DIR/pg.md"; fi
  if [ "${#NOTES[@]}" -gt 0 ]; then echo; echo "Notes:"; printf -- '- %s\n' "${NOTES[@]}"; fi
  if [ "${#FAILS[@]}" -gt 0 ]; then echo; echo "**Checks failed:**"; printf -- '- %s\n' "${FAILS[@]}"; fi
} >"$REPORT"
echo
cat "$REPORT"
echo
echo "results: $PEERS_RESULTS_DIR"
[ "${#FAILS[@]}" -eq 0 ]
