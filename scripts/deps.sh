#!/usr/bin/env bash
# deps.sh — install the Debian packages Switchyard builds, runs and tests with (only the missing ones).
set -euo pipefail
PKGS=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev libpcre2-dev
      libcurl4-openssl-dev libcmocka-dev liburcu-dev libpq-dev nodejs npm curl jq)
# the fuzz harnesses (scripts/fuzz.sh): clang and its libFuzzer runtime
FUZZ_PKGS=(clang libclang-rt-14-dev)
# the static checks (scripts/lint.sh)
LINT_PKGS=(clang-tidy clang-format)
# sqlite3, the CLI: the audit tamper test edits the database behind the server's back
# python3: the bucket cross-check against hashlib (tests/unit/bucket_check.py)
# prometheus: promtool checks the text of GET /metrics; tests/rollout/prometheus.test.js queries a real one
# valgrind, g++: the client library's leak check and its header compiled as C++17 (tests/lib)
# postgresql: a throwaway cluster (scripts/pg.sh) for the suite against the PostgreSQL store
# chromium: the console's tests (tests/console) drive it with playwright-core
[ "${1:-}" = "--test" ] && PKGS+=(postgresql chromium awscli sqlite3 python3 prometheus valgrind g++ "${FUZZ_PKGS[@]}" "${LINT_PKGS[@]}")
[ "${1:-}" = "--fuzz" ] && PKGS+=("${FUZZ_PKGS[@]}")
[ "${1:-}" = "--lint" ] && PKGS+=("${LINT_PKGS[@]}")
[ "${1:-}" = "--bench" ] && PKGS+=(wrk hyperfine postgresql)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node and npm may come from outside Debian on some images; accept them when present.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
todo=()
for p in "${missing[@]}"; do [ -n "$p" ] && todo+=("$p"); done
[ "${#todo[@]}" -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${todo[@]}"
