#!/usr/bin/env bash
# Installs, builds and runs every test: once in the release build, once more
# with AddressSanitizer and UndefinedBehaviorSanitizer (LeakSanitizer checks
# each host as the tests stop it) in a build that also counts lines (gcov), so
# that run prints the line coverage of host/ and sdk/; then each fuzz target
# for 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test

jobs=$(nproc)
scripts/build.sh build -DMICROSOCKETS_TESTS=ON
(cd build && ctest --output-on-failure -j"$jobs")

scripts/build.sh build-asan -DMICROSOCKETS_SANITIZE=ON -DMICROSOCKETS_COVERAGE=ON -DMICROSOCKETS_TESTS=ON
find build-asan -name '*.gcda' -delete  # coverage of this run only
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")
scripts/coverage.sh build-asan
fuzz/run.sh 20
