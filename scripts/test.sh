#!/usr/bin/env bash
# test.sh BUILD_DIR — the whole suite against one build: unit tests (ctest), then the
# black-box API, CLI, SSM, crash and client-library tests (node's test runner) against live servers.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:?usage: test.sh BUILD_DIR}"
export SWITCHYARD_BIN="$PWD/$build/switchyard"
# libswitchyard's stress program under ThreadSanitizer (make tsan), for tests/lib/tsan.test.js
if [ -z "${SY_TSAN_BIN:-}" ] && [ -x build-tsan/sy_stress ]; then export SY_TSAN_BIN="$PWD/build-tsan/sy_stress"; fi
label="release"; [ "${SY_SANITIZED:-0}" = 1 ] && label="asan+ubsan"
echo "== unit tests ($label) =="
# no tests at all (say, a build without them) is a failure, not a pass
ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 || exit 1
echo "== black-box tests ($label) =="
# the console's Chromium tests (tests/console) run once, against the release build: the
# browser is the same either way, and the server's paths they call are in the suites above
console=(); [ "${SY_SANITIZED:-0}" = 1 ] || console=(tests/console/)
node --test --test-concurrency=2 tests/api/ tests/ssm/ tests/ofrep/ tests/crash/ tests/sim/ tests/gateway/ tests/lib/ tests/rollout/ "${console[@]}" || exit 1
