#!/usr/bin/env bash
# Line coverage of host/ and sdk/ by the tests: a gcov build in build-coverage/,
# its tests, then gcovr's summary (per-file table in build-coverage/coverage.txt).
# Fails below MIN_LINE_COVERAGE percent. Default 94: 96.3 % measured on
# 2026-11-29 less a margin; issue 8 measured about
# 96 % with every host stopped by SIGTERM; the margin absorbs the tests left
# out here and paths only timing reaches (idle sweeps, kernel buffers full).
#
# The benchmark smoke and the browser test are left out: they take minutes
# and reach no host line that the other tests do not.
set -euo pipefail
cd "$(dirname "$0")/.."
min=${MIN_LINE_COVERAGE:-94}

scripts/build.sh build-coverage -DMICROSOCKETS_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug
find build-coverage -name '*.gcda' -delete  # counts from this run only
(cd build-coverage && ctest --output-on-failure -j"$(nproc)" -E '^(bench\.smoke|browser\.)')

gcovr --root . --filter 'host/' --filter 'sdk/' --txt build-coverage/coverage.txt --print-summary \
  --fail-under-line "$min" build-coverage \
  || { cat build-coverage/coverage.txt; echo "line coverage of host/ and sdk/ is under ${min} %"; exit 1; }
