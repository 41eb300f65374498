#!/usr/bin/env bash
# Line coverage of host/ and sdk/ by the tests, with gcovr (per-file table in
# DIR/coverage.txt). Fails below MIN_LINE_COVERAGE percent.
#
#   scripts/coverage.sh DIR   reports what the tests just run in DIR reached
#                             (scripts/test.sh: the ASan build, built with gcov too)
#   scripts/coverage.sh       builds build-coverage/, runs its tests, reports
#
# Default 94: 96.0 % measured on 2026-11-29 in the ASan build, less a margin
# for paths only timing reaches (idle sweeps, kernel buffers full).
set -euo pipefail
cd "$(dirname "$0")/.."
min=${MIN_LINE_COVERAGE:-94}
dir=${1:-}

if [[ -z $dir ]]; then
  dir=build-coverage
  scripts/build.sh "$dir" -DMICROSOCKETS_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug
  find "$dir" -name '*.gcda' -delete  # counts from this run only
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)" -E '^(bench\.smoke|browser\.)')
fi

gcovr --root . --filter 'host/' --filter 'sdk/' --txt "$dir/coverage.txt" --print-summary \
  --fail-under-line "$min" "$dir" \
  || { cat "$dir/coverage.txt"; echo "line coverage of host/ and sdk/ is under ${min} %"; exit 1; }
