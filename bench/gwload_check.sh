#!/usr/bin/env bash
# gwload_check.sh BUILD_DIR — checks bench/gwload against known servers: nginx (bench/gw_upstream.conf)
# at 1 000 and 5 000 req/s must hold the rate within 2 % with sane latencies and no errors; the
# awkward HTTP shapes of gwload_server.py (chunked SSE split anywhere, a delayed last chunk,
# trailers, byte-by-byte Content-Length, read-until-close, 100 Continue, 500, a stream without
# [DONE]) must be counted right; a refused port, a server that never answers and an upstream
# stopped mid-run must give errors and end by duration + grace. Prints PASS/FAIL lines; exits
# non-zero if any check failed. Env: CHECK_DURATION (s, default 10) for the nginx rate runs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:?usage: bench/gwload_check.sh BUILD_DIR}"
GWLOAD="$(cd "$build" && pwd)/gwload"
[ -x "$GWLOAD" ] || { echo "no gwload in $build" >&2; exit 1; }
DUR="${CHECK_DURATION:-10}"
TMP="$(mktemp -d /tmp/gwload-check.XXXXXX)"
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
FAILED=0
check() {  # check NAME JSON JQ_CONDITION
  if jq -e "($3) and .took_ms <= .limit_ms" >/dev/null 2>&1 <<<"$2"; then echo "PASS $1: $2"; else echo "FAIL $1 ($3): $2"; FAILED=1; fi
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { local p="$1"; while port_busy "$p"; do p=$((p + 1)); done; echo "$p"; }
wait_port() { local _; for _ in $(seq 1 100); do port_busy "$1" && return 0; sleep 0.05; done; return 1; }
timed() {  # timed MAX_S CMD... -> gwload's JSON plus took_ms and limit_ms (check() holds took_ms to the limit)
  local t0 t1 out; t0="$(date +%s%N)"
  out="$(timeout $(($1 + 10)) "${@:2}" 2>/dev/null || true)"; t1="$(date +%s%N)"
  jq -ce --argjson t $(((t1 - t0) / 1000000)) --argjson l $(($1 * 1000)) '. + {took_ms:$t, limit_ms:$l}' <<<"$out" 2>/dev/null \
    || echo "{\"took_ms\":$(((t1 - t0) / 1000000)),\"limit_ms\":0,\"no_json\":true}"
}
printf '%s' '{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}]}' >"$TMP/body.json"

NGX_PORT="$(free_port 58690)"
mkdir -p "$TMP/ngx/tmp"
sed -e "s#@PORT@#$NGX_PORT#g" -e "s#@DIR@#$TMP/ngx#g" "$HERE/gw_upstream.conf" >"$TMP/ngx/nginx.conf"
nginx -p "$TMP/ngx" -e "$TMP/ngx/error.log" -c "$TMP/ngx/nginx.conf" >/dev/null 2>&1 </dev/null &
NGX_PID=$!; PIDS+=("$NGX_PID")
PY_PORT="$(free_port $((NGX_PORT + 1)))"
python3 "$HERE/gwload_server.py" "$PY_PORT" >"$TMP/py.log" 2>&1 &
PIDS+=($!)
wait_port "$NGX_PORT" && wait_port "$PY_PORT" || { echo "servers did not start" >&2; exit 1; }
UP="http://127.0.0.1:$NGX_PORT"; PY="http://127.0.0.1:$PY_PORT"

# 1. nginx: the schedule is held, latencies are sane (p50 under 2 ms on loopback, ordered quantiles)
for r in 1000 5000; do
  for path in chat stream; do
    s=""; [ "$path" = stream ] && s=--stream
    u="$UP/v1/chat/completions"; [ "$path" = stream ] && u="$UP/v1/stream/chat/completions"
    j="$(timed $((DUR + 6)) "$GWLOAD" --url "$u" --rate "$r" --duration "$DUR" --warmup 2 --connections 256 --body-file "$TMP/body.json" $s)"
    check "nginx $path $r req/s" "$j" ".rate_achieved >= 0.98*$r and .rate_achieved <= 1.02*$r and .sent == $((r * DUR)) and .ok == .sent
      and .errors == 0 and .non2xx == 0 and .p50_us > 0 and .p50_us < 2000 and .p50_us <= .p90_us and .p90_us <= .p99_us
      and .p99_us <= .p999_us and .p999_us <= .max_us and .ttfb_p50_us <= .p50_us"
  done
done

# 2. response shapes
run() { timed 5 "$GWLOAD" --url "$PY/$1" --rate 200 --duration 2 --connections 16 --body-file "$TMP/body.json" "${@:2}"; }
check "chunked SSE, last chunk 5 ms late" "$(run chunked --stream)" '.ok == 400 and .errors == 0 and .p50_us >= 5000 and .ttfb_p50_us < 5000'
check "chunk extension, trailers" "$(run trailer --stream)" '.ok == 400 and .errors == 0'
check "stream without [DONE] is an error" "$(run nodone --stream)" '.ok == 0 and .errors == 400'
check "Content-Length body in 7-byte writes" "$(run split)" '.ok == 400 and .errors == 0'
check "read until close, Connection: close" "$(run close)" '.ok == 400 and .errors == 0'
check "100 Continue before the answer" "$(run interim)" '.ok == 400 and .errors == 0'
check "500 counted as non-2xx" "$(run status500)" '.ok == 0 and .non2xx == 400 and .errors == 0'

# 3. failures end by the deadline (duration 3 s + grace 2 s)
DEAD="$(free_port 58790)"
check "refused port: all errors" "$(timed 6 "$GWLOAD" --url "http://127.0.0.1:$DEAD/v1/chat/completions" --rate 5000 --duration 3 --grace 2 --connections 256 --body-file "$TMP/body.json")" \
  '.sent == 15000 and .errors == 15000 and .ok == 0'
BH="$(free_port $((DEAD + 1)))"
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1024); time.sleep(60)' "$BH" &
PIDS+=($!); wait_port "$BH"
check "server that never answers: timeouts, queue reported unsent" "$(timed 6 "$GWLOAD" --url "http://127.0.0.1:$BH/x" --rate 1000 --duration 3 --grace 2 --connections 64 --body-file "$TMP/body.json")" \
  '.ok == 0 and .timeouts == 64 and .errors == 64 and .unsent == 2936'
( sleep 1.5; kill "$NGX_PID" ) &
check "upstream stopped mid-run: errors, no hang" "$(timed 6 "$GWLOAD" --url "$UP/v1/chat/completions" --rate 5000 --duration 3 --grace 2 --connections 256 --body-file "$TMP/body.json")" \
  '.ok > 5000 and .ok < 9000 and .errors > 5000 and .ok + .errors + .non2xx + .unsent == 15000'
[ "$FAILED" = 0 ] && echo "gwload_check: all passed" || { echo "gwload_check: FAILED"; exit 1; }
