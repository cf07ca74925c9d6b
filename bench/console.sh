#!/usr/bin/env bash
# console.sh BUILD_DIR — the web console in Chromium (bench/console_bench.js): the bundle's files raw and
# gzipped and the bytes a cold load of /console transfers; cold loads of /console signed in (median of
# CONSOLE_LOADS fresh browser contexts) to the shell and to a flag's row in the Flags view; and how long a
# rollout written through the API takes to show on an open flag page (CONSOLE_WRITES writes, p50/p95/p99).
# With BENCH_UNLEASH=1, the same cold loads of Unleash's admin UI (shared/peers/unleash.sh) in the same run.
# Called by bench/run.sh (results in its PEERS_RESULTS_DIR); alone, results go to
# bench/results/<UTC stamp>-console/. Writes console.json, unleash-console.json, console.md and rows of
# summary.tsv. About a minute (two more with Unleash).
# Env: CONSOLE_LOADS (default 10), CONSOLE_WRITES (default 100), CONSOLE_PORT (first port tried, default
#      58560), CONSOLE_DIR (the built console, default BUILD_DIR/console: `node web/build.mjs BUILD_DIR/console`),
#      BENCH_UNLEASH=1, SKIP_INSTALL=1 (Unleash's node modules missing: do not run shared/peers/install.sh).
# Exits non-zero when the measurement could not be made; a missed target shows "no" but does not fail.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/.." && pwd))"
build="${1:?usage: bench/console.sh BUILD_DIR}"
if [ -d "$build" ]; then BDIR="$(cd "$build" && pwd)"; else BDIR="$TOP/$build"; fi
BIN="$BDIR/switchyard"
CDIR="${CONSOLE_DIR:-$BDIR/console}"

RESULTS="${PEERS_RESULTS_DIR:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-console}"
mkdir -p "$RESULTS"; touch "$RESULTS/summary.tsv"
MD="$RESULTS/console.md"
TOKEN="bench-admin-token"
LOADS="${CONSOLE_LOADS:-10}"; WRITES="${CONSOLE_WRITES:-100}"
FLAG="bench/console"
PEERS="$TOP/../shared/peers"

# shellcheck source=bench/server_common.sh
. "$HERE/server_common.sh"
[ -x "$BIN" ] || die "no switchyard binary in $BDIR (build first: make build)"
[ -f "$CDIR/index.html" ] || die "no console in $CDIR (build it: node web/build.mjs $BDIR/console)"
[ -x /usr/bin/chromium ] || [ -n "${SY_CHROMIUM:-}" ] || die "no Chromium at /usr/bin/chromium (apt-get install chromium)"
for t in node jq curl; do command -v "$t" >/dev/null || die "$t is not installed"; done
# playwright-core from the repository's node_modules
export NODE_PATH="$TOP/node_modules${NODE_PATH:+:$NODE_PATH}"

bench_setup consolebench
UNLEASH_UP=0
bench_on_exit() { [ "$UNLEASH_UP" = 1 ] && "$PEERS/unleash.sh" stop --wipe >/dev/null 2>&1; return 0; }
FAILS=(); NOTES=(); LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"

PORT="$(bench_free_port "${CONSOLE_PORT:-58560}")"
BASE="http://127.0.0.1:$PORT"
SLOG="$RESULTS/switchyard-console.log"
# the subshell execs the server: $! is the server's pid
( export SWITCHYARD_ADMIN_TOKEN="$TOKEN" SWITCHYARD_CONSOLE_DIR="$CDIR"
  exec "$BIN" serve --listen "127.0.0.1:$PORT" --data "$TMP/data" ) >>"$SLOG" 2>&1 </dev/null &
SERVER_PID=$!
bench_wait_health "$BASE" "$SERVER_PID" "$SLOG"
curl -fsS -o /dev/null "$BASE/console/" || die "the server does not serve the console at /console/ (see $SLOG)"
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  --data-binary "{\"key\":\"$FLAG\",\"document\":{\"enabled\":true,\"rollout_percentage\":0},\"reason\":\"console bench\"}" \
  "$BASE/api/v1/flags" || die "cannot create the flag $FLAG"
log "switchyard pid $SERVER_PID on $BASE, console $CDIR; $(nproc) vCPUs; $LOADS cold loads, $WRITES writes"

if timeout 900 node "$HERE/console_bench.js" switchyard --base "$BASE" --token "$TOKEN" --flag "$FLAG" \
     --console-dir "$CDIR" --loads "$LOADS" --writes "$WRITES" \
     >"$RESULTS/console.json" 2> >(tee "$RESULTS/console.txt" >&2) && jq -e .propagation "$RESULTS/console.json" >/dev/null 2>&1; then :
else
  FAILS+=("bench/console_bench.js failed (console.txt)"); echo '{}' >"$RESULTS/console.json"
fi
kill -0 "$SERVER_PID" 2>/dev/null || FAILS+=("switchyard exited during the console bench (see switchyard-console.log)")
stop_pid "$SERVER_PID"; SERVER_PID=""

# --- Unleash's admin UI, the same cold loads ------------------------------------------------------------
echo '{}' >"$RESULTS/unleash-console.json"
if [ "${BENCH_UNLEASH:-0}" = 1 ]; then
  if [ ! -f "$PEERS/unleash.sh" ]; then NOTES+=("Unleash: shared/peers not found at $PEERS")
  else
    if [ ! -d "$PEERS/node/node_modules/unleash-server" ] && [ "${SKIP_INSTALL:-0}" != 1 ]; then
      "$PEERS/install.sh" >&2 || NOTES+=("shared/peers/install.sh failed")
    fi
    UNLEASH_UP=1
    if "$PEERS/unleash.sh" start >&2; then
      timeout 600 node "$HERE/console_bench.js" unleash --base "http://127.0.0.1:${UNLEASH_PORT:-4242}" --loads "$LOADS" \
        >"$RESULTS/unleash-console.json" 2> >(tee "$RESULTS/unleash-console.txt" >&2) \
        || { NOTES+=("Unleash admin UI: console_bench.js unleash failed (unleash-console.txt)"); echo '{}' >"$RESULTS/unleash-console.json"; }
    else NOTES+=("Unleash: shared/peers/unleash.sh start failed"); fi
    "$PEERS/unleash.sh" stop --wipe >/dev/null 2>&1 || true; UNLEASH_UP=0
  fi
fi

# --- report ---------------------------------------------------------------------------------------------
j() { jq -r "$1 // \"-\"" "$RESULTS/console.json" 2>/dev/null || echo -; }
u() { jq -r "$1 // \"-\"" "$RESULTS/unleash-console.json" 2>/dev/null || echo -; }
met() { awk "BEGIN{exit !($1)}" 2>/dev/null && echo "yes" || echo "**no**"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f×", a/b }'; }
kb() { awk -v b="$1" 'BEGIN{ if (b=="-") print "-"; else printf "%.1f kB", b/1000 }'; }
p50="$(j .propagation.dom.median)"; p95="$(j .propagation.dom.p95)"; p99="$(j .propagation.dom.p99)"
f50="$(j .propagation.frame.median)"; f99="$(j .propagation.frame.p99)"
root="$(j .cold_root.shell.median)"; list="$(j .cold_flags.list.median)"
uroot="$(u .cold_root.shell.median)"; ulist="$(u .cold_flags.list.median)"
prop_ok="$([ "$p99" = - ] && echo "**no** (not measured)" || met "$f99 < 1000 && \"$(j '.propagation.reloaded | tostring')\" == \"false\"")"
raw_total="$(jq -r '[.bundle.files[]?.raw] | add // "-"' "$RESULTS/console.json")"
gz_total="$(jq -r '[.bundle.files[]?.gzip] | add // "-"' "$RESULTS/console.json")"
xfer="$(j .bundle.transferred.console_bytes)"
tsv() { printf '%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$(date -u +%FT%TZ)" "$@" >>"$RESULTS/summary.tsv"; }
tsv switchyard-console-bundle - - - - "console files $raw_total bytes raw, $gz_total gzip -9; a cold load of /console transferred $xfer bytes of them"
tsv switchyard-console-cold-root - "$root" "$(j .cold_root.shell.max)" - "navigation → signed-in shell of /console/, median/max of $LOADS fresh contexts"
tsv switchyard-console-cold-flags - "$list" "$(j .cold_flags.list.max)" - "navigation → the flag's row on #/flags, median/max of $LOADS fresh contexts"
tsv switchyard-console-propagation - "$p50" "$p99" - "POST rollout sent → open flag page shows it (DOM), $WRITES writes: p95 $p95 ms, max $(j .propagation.dom.max) ms; next frame p50 $f50 ms, p99 $f99 ms"
[ "$uroot" = - ] || tsv unleash-ui-cold-root - "$uroot" "$(u .cold_root.shell.max)" - "navigation → signed-in first render of /, median/max of $LOADS fresh contexts"
[ "$ulist" = - ] || tsv unleash-ui-cold-flags - "$ulist" "$(u .cold_flags.list.max)" - "navigation → flag checkout listed on /projects/default, median/max of $LOADS fresh contexts"
{
  echo "### Web console"
  echo
  echo "Chromium $(j .browser) (headless, playwright-core), $(nproc) vCPUs shared by the browser, the server and everything else on the machine (load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end): the figures are noisy."
  echo
  echo "| file | raw | gzip -9 | transferred on a cold load |"
  echo "|---|---:|---:|---|"
  jq -r '.bundle as $b | $b.files[]? | . as $f | ($b.transferred.requests // [] | map(select(.url | endswith("/" + $f.file) or (($f.file == "index.html") and (test("/console/$")))))[0]) as $t
         | "| \($f.file) | \($f.raw) B | \($f.gzip) B | \(if $t then "\($t.bytes) B (\($t.encoding))" else "-" end) |"' "$RESULTS/console.json"
  echo "| **total** | $raw_total B | $gz_total B | **$xfer B** of console files ($(j .bundle.transferred.all_bytes) B with the API calls) |"
  echo
  echo "| measurement | median ms | p95 ms | p99 ms | max ms | other | target | met |"
  echo "|---|---:|---:|---:|---:|---|---|---|"
  echo "| cold load /console/ → signed-in shell ($LOADS fresh contexts) | **$root** | – | – | $(j .cold_root.shell.max) | min $(j .cold_root.shell.min); TTFB $(j .cold_root.ttfb.median), DOMContentLoaded $(j .cold_root.dom_content_loaded.median), load $(j .cold_root.load.median) | reported | – |"
  echo "| cold load #/flags → the flag's row | **$list** | – | – | $(j .cold_flags.list.max) | min $(j .cold_flags.list.min) | reported | – |"
  echo "| write (POST rollout) → the open flag page shows it ($WRITES writes, each ${CONSOLE_GAP_MS:-200} ms after the last was seen) | **$p50** | $p95 | **$p99** | $(j .propagation.dom.max) | at the next frame: p50 $f50, p99 $f99; the API's own answer p50 $(j .propagation.api.median), p99 $(j .propagation.api.p99); on a watch stream read by node p50 $(j .propagation.stream.median), p99 $(j .propagation.stream.p99) (the page reloads the flag at the first change, then at most every 150 ms while a burst lasts: web/src/live.js); page reloaded: $(j '.propagation.reloaded | tostring') | well under 1 s | $prop_ok |"
  if [ "$uroot" != - ]; then
    echo "| *Unleash admin UI: cold load / → signed-in first render (same run)* | $uroot | – | – | $(u .cold_root.shell.max) | min $(u .cold_root.shell.min); $(u .cold_root.n) loads, $(u .cold_root.timeouts) not rendered within $(u '.cold_root.timeout_s') s; DOMContentLoaded $(u .cold_root.dom_content_loaded.median), load $(u .cold_root.load.median); a cold load of / transfers $(u .transferred.asset_bytes) B in $(u .transferred.asset_requests) requests outside /api and /auth | | |"
    echo "| *Unleash admin UI: /projects/default → flag checkout listed* | $ulist | – | – | $(u .cold_flags.list.max) | min $(u .cold_flags.list.min); $(u .cold_flags.n) loads, $(u .cold_flags.timeouts) not rendered in time | | |"
    echo
    echo "Same-run ratios: Unleash / Switchyard cold load to the signed-in first render **$(ratio "$uroot" "$root")**, to the flag listed **$(ratio "$ulist" "$list")**; bytes a cold load transfers **$(ratio "$(u .transferred.asset_bytes)" "$xfer")**."
  fi
  if [ "${#NOTES[@]}" -gt 0 ]; then echo; echo "Notes:"; printf -- '- %s\n' "${NOTES[@]}"; fi
  if [ "${#FAILS[@]}" -gt 0 ]; then echo; echo "**Checks failed:**"; printf -- '- %s\n' "${FAILS[@]}"; fi
} >"$MD"
cat "$MD"
[ "${#FAILS[@]}" -eq 0 ]
