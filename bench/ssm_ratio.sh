#!/usr/bin/env bash
# ssm_ratio.sh BUILD_DIR [ROUNDS] — what the SSM API costs beside the native one, in one run:
# native GET /api/v1/params/bench/checkout and a pre-signed SigV4 AmazonSSM.GetParameter of the
# same parameter (bench/sign.mjs), run by turns ROUNDS times (default 5) against one server.
# Each run reports req/s and the server's CPU time per request (user + system, from
# /proc/PID/stat), which holds steadier than req/s on a machine that is busy with other work;
# the last line gives the medians and both ratios (signed / native req/s, native / signed CPU).
# Env: WRK_THREADS (1), WRK_CONNS (50), WRK_DURATION (5s), BENCH_PORT (58580),
#      SY_RATIO_KEEP=1 leaves the server running (its pid and address are printed), for a profiler.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:?usage: bench/ssm_ratio.sh BUILD_DIR [ROUNDS]}"
ROUNDS="${2:-5}"
BIN="$(cd "$build" && pwd)/switchyard"
[ -x "$BIN" ] || { echo "ssm_ratio.sh: no switchyard binary in $build" >&2; exit 1; }
for t in wrk jq curl node bc; do command -v "$t" >/dev/null || { echo "ssm_ratio.sh: needs $t" >&2; exit 1; }; done
T="${WRK_THREADS:-1}" C="${WRK_CONNS:-50}" D="${WRK_DURATION:-5s}"
PORT="${BENCH_PORT:-58580}"
LISTEN="127.0.0.1:$PORT" BASE="http://127.0.0.1:$PORT"
TOKEN="bench-admin-token-$$"
AUTH="Authorization: Bearer $TOKEN"
AKID="AKIABENCHRATIO00001"
SECRET="$(head -c 30 /dev/urandom | base64 | tr -d '\n')"
TMP="$(mktemp -d /tmp/switchyard-ratio.XXXXXX)"
PID=""
cleanup() {
  [ "${SY_RATIO_KEEP:-0}" = 1 ] && return 0
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

if curl -fsS -o /dev/null --max-time 1 "$BASE/health" 2>/dev/null; then
  echo "ssm_ratio.sh: something already answers on $LISTEN (set BENCH_PORT)" >&2
  exit 1
fi
# the subshell execs the server (which execs switchyard-server): $! is the server's pid
( export SWITCHYARD_ADMIN_TOKEN="$TOKEN" SWITCHYARD_AWS_ACCESS_KEY_ID="$AKID" SWITCHYARD_AWS_SECRET_ACCESS_KEY="$SECRET"
  exec "$BIN" serve --listen "$LISTEN" --data "$TMP/data" ) >"$TMP/server.log" 2>&1 </dev/null &
PID=$!
for _ in $(seq 1 200); do curl -fsS -o /dev/null "$BASE/health" 2>/dev/null && break; sleep 0.05; done
curl -fsS -o /dev/null "$BASE/health" || { cat "$TMP/server.log" >&2; exit 1; }

VALUE='{"name":"checkout","enabled":true,"strategy":"flexibleRollout","rollout":"50","stickiness":"userId"}'
curl -fsS -o /dev/null -X PUT -H "$AUTH" -H 'Content-Type: application/json' \
  --data-binary "$(jq -cn --arg v "$VALUE" '{value:$v,type:"String",overwrite:true}')" "$BASE/api/v1/params/bench/checkout"
SY_AWS_SECRET="$SECRET" node "$HERE/sign.mjs" "$LISTEN" "$AKID" /bench/checkout "$TMP/ssm.lua" "$TMP/ssm.hdr" us-east-1 \
  >"$TMP/signed.json"
got="$(curl -sS -X POST -H @"$TMP/ssm.hdr" --data-binary "$(jq -r .body "$TMP/signed.json")" "$BASE/")"
[ "$(jq -r .Parameter.Value <<<"$got")" = "$VALUE" ] || { echo "signed GetParameter: $got" >&2; exit 1; }

TCK="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
# run LABEL WRK_ARGS...: prints "req/s cpu_us_per_request"
run() {
  local c0 c1 out reqs
  c0="$(cpu_ticks)"
  out="$(wrk -t"$T" -c"$C" -d"$D" "$@")"
  c1="$(cpu_ticks)"
  grep -q 'Non-2xx' <<<"$out" && { echo "ssm_ratio.sh: non-2xx answers: $out" >&2; exit 1; }
  reqs="$(awk '/requests in/{print $1}' <<<"$out")"
  echo "$(awk '/^Requests\/sec:/{print $2}' <<<"$out") $(echo "($c1 - $c0) * 1000000 / $TCK / $reqs" | bc -l)"
}
wrk -t"$T" -c"$C" -d2s -H "$AUTH" "$BASE/api/v1/params/bench/checkout" >/dev/null
wrk -t"$T" -c"$C" -d2s -s "$TMP/ssm.lua" "$BASE/" >/dev/null
nr=() nc=() sr=() sc=()
for i in $(seq 1 "$ROUNDS"); do
  read -r a b <<<"$(run -H "$AUTH" "$BASE/api/v1/params/bench/checkout")"
  read -r x y <<<"$(run -s "$TMP/ssm.lua" "$BASE/")"
  nr+=("$a") nc+=("$b") sr+=("$x") sc+=("$y")
  printf 'round %d: native %9.0f req/s %6.2f us cpu/req | signed %9.0f req/s %6.2f us cpu/req | ratio %.2f\n' \
    "$i" "$a" "$b" "$x" "$y" "$(echo "$x / $a" | bc -l)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mnr="$(median "${nr[@]}")" mnc="$(median "${nc[@]}")" msr="$(median "${sr[@]}")" msc="$(median "${sc[@]}")"
printf 'median: native %.0f req/s %.2f us cpu/req, signed %.0f req/s %.2f us cpu/req; ratio %.2f by req/s, %.2f by cpu (wrk -t%s -c%s -d%s)\n' \
  "$mnr" "$mnc" "$msr" "$msc" "$(echo "$msr / $mnr" | bc -l)" "$(echo "$mnc / $msc" | bc -l)" "$T" "$C" "$D"
if [ "${SY_RATIO_KEEP:-0}" = 1 ]; then
  echo "server pid $PID on $BASE; lua $TMP/ssm.lua; header '$AUTH'; data $TMP"
fi
