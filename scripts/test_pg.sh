#!/usr/bin/env bash
# test_pg.sh BUILD_DIR — the black-box suite against the PostgreSQL store: starts a throwaway
# cluster (scripts/pg.sh), gives every test server a database of its own on it
# (SY_TEST_STORE_PG, tests/api/helpers.js), runs the API, SSM, OFREP, gateway and rollout tests
# and the multi-node tests of tests/pg, and removes the cluster at the end, also on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:?usage: test_pg.sh BUILD_DIR}"
export SWITCHYARD_BIN="$PWD/$build/switchyard"
[ -x "$SWITCHYARD_BIN" ] || { echo "test_pg.sh: $SWITCHYARD_BIN is not built" >&2; exit 1; }

# The cluster's directory must be reachable by the postgres user, which runs it when we are root.
top=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-pg-XXXXXX") || exit 1
chmod 755 "$top"
cleanup() {
  local pid=""
  [ -f "$top/pg/data/postmaster.pid" ] && pid=$(head -1 "$top/pg/data/postmaster.pid")
  scripts/pg.sh destroy "$top/pg" >/dev/null 2>&1
  # a postmaster that outlived pg_ctl's stop (seen once after a Ctrl-C) is stopped at once
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -QUIT "$pid" 2>/dev/null; fi
  rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

url=$(scripts/pg.sh start "$top/pg") || { echo "test_pg.sh: could not start PostgreSQL" >&2; exit 1; }
export SY_TEST_STORE_PG="$url" SY_TEST_PG_DIR="$top/pg"
label="release"; [ "${SY_SANITIZED:-0}" = 1 ] && label="asan+ubsan"
echo "== black-box tests ($label, PostgreSQL store at $url) =="
start=$SECONDS
node --test --test-concurrency="${SY_TEST_PG_CONCURRENCY:-2}" \
  tests/api/ tests/ssm/ tests/ofrep/ tests/gateway/ tests/rollout/ tests/pg/
rc=$?
echo "== PostgreSQL pass: $((SECONDS - start)) s, exit $rc =="
exit $rc
