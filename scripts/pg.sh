#!/usr/bin/env bash
# pg.sh — a throwaway PostgreSQL cluster for tests and benches (Debian's postgresql package).
#   pg.sh start DIR [PORT]   initdb into DIR (as user postgres when run as root), start it on
#                            127.0.0.1:PORT (default: a free port), socket in DIR; prints the URL
#                            postgres://switchyard@127.0.0.1:PORT/postgres
#   pg.sh stop DIR           stops it (fast shutdown); pg.sh kill DIR stops it at once (immediate)
#   pg.sh restart DIR        stops and starts it again on the same port
#   pg.sh url DIR            prints the URL again
#   pg.sh createdb DIR NAME  makes a database NAME; prints its URL
#   pg.sh destroy DIR        stops it and removes DIR
set -euo pipefail
cmd="${1:?usage: pg.sh start|stop|kill|restart|url|createdb|destroy DIR ...}"
dir="${2:?usage: pg.sh $cmd DIR}"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
run() { (cd / && "${as[@]}" "$@"); }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
url() { echo "postgres://switchyard@127.0.0.1:$(cat "$dir/port")/${1:-postgres}"; }
start() {
  run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=64MB" \
    start >/dev/null
}

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  [ -f "$dir/port" ] || { p="${3:-}"; [ -n "$p" ] || p=$(free_port); echo "$p" >"$dir/port"; }
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    run "$bin/initdb" -D "$dir/data" -U switchyard --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  start || { cat "$dir/log" >&2; exit 1; }
  url ;;
stop) run "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
kill) run "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null ;;
restart) run "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; start; url ;;
url) url ;;
createdb)
  name="${3:?usage: pg.sh createdb DIR NAME}"
  "$bin/psql" -X -q -h 127.0.0.1 -p "$(cat "$dir/port")" -U switchyard -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE \"$name\"" >/dev/null
  url "$name" ;;
destroy)
  [ -f "$dir/data/PG_VERSION" ] && run "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" ;;
*) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
