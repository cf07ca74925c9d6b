#!/usr/bin/env bash
# lint.sh [BUILD_DIR] — the static checks of src/ and tests/unit/: clang-format (--dry-run
# --Werror) over their .c and .h files, then clang-tidy with the repository's .clang-tidy
# over their .c files, with the compile commands of BUILD_DIR (default build; configured
# when it has none), every warning an error, SY_LINT_JOBS files at a time (default 2).
# Prints one line:
#   lint: N files, M findings (clang-format F, clang-tidy T) in S s
# and, when there are findings, each of them; exits non-zero on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
jobs="${SY_LINT_JOBS:-2}"
start=$(date +%s)

for tool in clang-format clang-tidy; do
  if ! command -v "$tool" >/dev/null; then
    echo "lint: $tool is not installed (scripts/deps.sh --test installs clang-format and clang-tidy)" >&2
    exit 1
  fi
done
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
fi

mapfile -t sources < <(find src tests/unit -type f -name '*.c' | sort)
mapfile -t formatted < <(find src tests/unit -type f -name '*.[ch]' | sort)
if [ "${#sources[@]}" -eq 0 ]; then
  echo "lint: no sources found" >&2
  exit 1
fi
# a source file the build does not compile would be checked without its flags: a finding too
missing=()
for f in "${sources[@]}"; do
  grep -qF "\"$PWD/$f\"" "$build/compile_commands.json" || missing+=("$f")
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/sy-lint.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# clang-format: one finding per file that is not formatted, with its first differences
fmt_bad=()
for f in "${formatted[@]}"; do
  clang-format --dry-run --Werror "$f" >"$scratch/fmt.out" 2>&1 && continue
  fmt_bad+=("$f")
  { grep -E '(warning|error):' "$scratch/fmt.out" | head -3; } >>"$scratch/fmt.findings"
done

# clang-tidy: one log per file; a finding is a diagnostic line naming its check
export build scratch
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} sh -c \
  'clang-tidy -p "$build" --quiet --warnings-as-errors="*" "$1" >"$scratch/$(echo "$1" | tr / _).tidy" 2>&1;
   echo $? >"$scratch/$(echo "$1" | tr / _).rc"' sh {}
tidy_failed=()
for f in "${sources[@]}"; do
  base="$scratch/$(echo "$f" | tr / _)"
  [ "$(cat "$base.rc" 2>/dev/null)" = 0 ] || tidy_failed+=("$f")
done
# a finding in a header shows once per file that includes it: counted once
cat "$scratch"/*.tidy 2>/dev/null | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' | sed "s|^$PWD/||" |
  sort -u >"$scratch/tidy.findings"
ntidy=$(wc -l <"$scratch/tidy.findings")
# clang-tidy failed without a diagnostic line (it crashed, or found no compile command): one finding
for f in "${tidy_failed[@]}"; do
  grep -q "^$f:" "$scratch/tidy.findings" && continue
  base="$scratch/$(echo "$f" | tr / _)"
  grep -qE ': (warning|error): ' "$base.tidy" && continue
  echo "$f: clang-tidy exited $(cat "$base.rc" 2>/dev/null || echo '?') without a finding:" >>"$scratch/tidy.other"
  tail -n 5 "$base.tidy" | sed 's/^/  /' >>"$scratch/tidy.other"
  ntidy=$((ntidy + 1))
done

nfmt=${#fmt_bad[@]}
total=$((nfmt + ntidy + ${#missing[@]}))
secs=$(($(date +%s) - start))
nfiles=$(printf '%s\n' "${sources[@]}" "${formatted[@]}" | sort -u | wc -l)
echo "lint: $nfiles files, $total findings (clang-format $nfmt, clang-tidy $ntidy) in $secs s"
[ "$total" -eq 0 ] && exit 0

if [ "${#missing[@]}" -gt 0 ]; then
  echo "  not in $build/compile_commands.json (is the file built?):"
  printf '    %s\n' "${missing[@]}"
fi
if [ "$nfmt" -gt 0 ]; then
  echo "  not clang-formatted (fix: make format):"
  printf '    %s\n' "${fmt_bad[@]}"
  sed 's/^/      /' "$scratch/fmt.findings"
fi
if [ "$ntidy" -gt 0 ]; then
  echo "  clang-tidy (.clang-tidy):"
  # each diagnostic with the source excerpt and notes clang-tidy printed under it, once
  for f in "${sources[@]}"; do
    base="$scratch/$(echo "$f" | tr / _)"
    [ -s "$base.tidy" ] || continue
    sed "s|$PWD/||g" "$base.tidy" | grep -vE '^[0-9]+ (warnings?|errors?) generated\.$|^Suppressed |^Use -header-filter|^Error while processing' || true
  done | awk '
    /^[^ ]+:[0-9]+:[0-9]+: (warning|error): / { show = !seen[$0]++ }
    show { print "    " $0 }'
  [ -f "$scratch/tidy.other" ] && sed 's/^/    /' "$scratch/tidy.other"
fi
exit 1
