# server_common.sh — sourced by the bench scripts that start a server of their own (lib.sh,
# rollout.sh, pg.sh, console.sh): logging, a scratch directory removed at exit, stopping the server,
# a free port, waiting for /health. Usage: source it, then `bench_setup PREFIX` (TMP is a new scratch
# directory; set SERVER_PID once the server runs), `PORT=$(bench_free_port FIRST)`, and once the
# server is started `bench_wait_health BASE PID LOG`. A script with several processes adds
# their pids to BENCH_PIDS; it may define bench_on_exit, which the exit trap runs after stopping
# them (for what is not a pid of ours: a cluster stopped by its own script).

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stop_pid() {  # stop_pid PID: TERM, up to 15 s, then KILL
  local p="$1" _
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && { log "pid $p ignored SIGTERM; SIGKILL"; kill -KILL "$p" 2>/dev/null || true; }
  wait "$p" 2>/dev/null || true
}

bench_cleanup() {
  local rc=$?
  set +e
  stop_pid "$SERVER_PID"
  local p
  for p in "${BENCH_PIDS[@]}"; do stop_pid "$p"; done
  declare -F bench_on_exit >/dev/null && bench_on_exit
  rm -rf "$TMP"
  exit "$rc"
}

bench_setup() {  # bench_setup NAME: TMP, SERVER_PID and the exit traps
  TMP="$(mktemp -d "/tmp/switchyard-$1.XXXXXX")"
  SERVER_PID=""
  BENCH_PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

bench_free_port() {  # the first free port from $1 on (20 tried)
  local p="$1" _
  for _ in $(seq 1 20); do port_busy "$p" || break; p=$((p + 1)); done
  port_busy "$p" && die "no free port near $1"
  echo "$p"
}

bench_wait_health() {  # bench_wait_health BASE PID LOG: until BASE/health answers, 15 s at most
  local i
  for i in $(seq 1 300); do
    curl -fsS -o /dev/null --max-time 1 "$1/health" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "switchyard exited during start-up"; }
    sleep 0.05
  done
  die "switchyard /health did not answer within 15 s"
}
