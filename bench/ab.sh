#!/usr/bin/env bash
# ab.sh BUILD_A BUILD_B [ROUNDS] — two builds side by side on this machine, interleaved so
# that drift in the machine's load falls on both: native GET and durable PUT at 50 writers
# (the same wrk settings as bench/run.sh), ROUNDS rounds (default 3) of A then B, each on a
# fresh data directory. Prints every run and the medians with the ratio B/A.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A="${1:?usage: bench/ab.sh BUILD_A BUILD_B [ROUNDS]}"
B="${2:?usage: bench/ab.sh BUILD_A BUILD_B [ROUNDS]}"
ROUNDS="${3:-3}"
DUR="${WRK_DURATION:-10s}"
PORT="${BENCH_PORT:-58680}"
BASE="http://127.0.0.1:$PORT"
TOKEN="bench-admin-token"
TMP="$(mktemp -d /tmp/switchyard-ab.XXXXXX)"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
ulimit -n 65536 2>/dev/null || true

start() { # start BUILD
  rm -rf "$TMP/data"
  SWITCHYARD_ADMIN_TOKEN="$TOKEN" "$1/switchyard" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" \
    >"$TMP/log" 2>&1 </dev/null &
  PID=$!
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "$BASE/health" 2>/dev/null && return 0; sleep 0.05; done
  cat "$TMP/log" >&2
  exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
rps() { awk '/^Requests\/sec:/{print $2}'; }

run_one() { # run_one BUILD -> "get put"
  start "$1"
  curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"value":"{\"name\":\"checkout\",\"enabled\":true,\"strategy\":\"flexibleRollout\",\"rollout\":\"50\",\"stickiness\":\"userId\"}","type":"String","overwrite":true}' \
    "$BASE/api/v1/params/bench/checkout"
  wrk -t2 -c50 -d2s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/params/bench/checkout" >/dev/null
  local g p
  g="$(wrk -t2 -c50 -d"$DUR" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/params/bench/checkout" | rps)"
  p="$(SY_TOKEN="$TOKEN" SY_PUT_PREFIX=/bench/w50 SY_PUT_NAMES=1000 SY_PUT_COUNT_FILE="$TMP/cnt" \
    wrk -t2 -c50 -d"$DUR" -s "$HERE/lua/put.lua" "$BASE" | rps)"
  stop
  echo "$g $p"
}

median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$TMP/a"
: >"$TMP/b"
for i in $(seq 1 "$ROUNDS"); do
  ra="$(run_one "$A")"
  echo "round $i A ($A): GET $(cut -d' ' -f1 <<<"$ra") req/s, PUT@50 $(cut -d' ' -f2 <<<"$ra") req/s"
  echo "$ra" >>"$TMP/a"
  rb="$(run_one "$B")"
  echo "round $i B ($B): GET $(cut -d' ' -f1 <<<"$rb") req/s, PUT@50 $(cut -d' ' -f2 <<<"$rb") req/s"
  echo "$rb" >>"$TMP/b"
done
ga="$(cut -d' ' -f1 "$TMP/a" | median)"; gb="$(cut -d' ' -f1 "$TMP/b" | median)"
pa="$(cut -d' ' -f2 "$TMP/a" | median)"; pb="$(cut -d' ' -f2 "$TMP/b" | median)"
echo "median GET:    A $ga  B $gb  B/A $(awk -v a="$ga" -v b="$gb" 'BEGIN{printf "%.3f", b/a}')"
echo "median PUT@50: A $pa  B $pb  B/A $(awk -v a="$pa" -v b="$pb" 'BEGIN{printf "%.3f", b/a}')"
