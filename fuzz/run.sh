#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs
# each for SECONDS (default 20), seeded from fuzz/corpus/<target>/. Any
# finding (a crash, a sanitizer report, a leak, a failed check, an input over
# 10 s) fails the run; its input is kept in build-fuzz/findings/<target>/.
#
#   fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hashes paths relative to the checkout, so that another clone (CI's,
# a second worktree) reuses what this one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
seconds=${1:-20}

cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  > build-fuzz.configure.log 2>&1 || { cat build-fuzz.configure.log; exit 1; }
cmake --build build-fuzz

failed=0
for binary in build-fuzz/*_fuzz; do
  target=$(basename "$binary" _fuzz)
  # New inputs go to a scratch corpus; the committed seeds are only read.
  scratch=build-fuzz/corpus/$target findings=build-fuzz/findings/$target
  mkdir -p "$scratch" "$findings"
  if "$binary" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$findings/" "$scratch" "fuzz/corpus/$target" > "build-fuzz/$target.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$target.log" | grep -o '[0-9]*$')
    echo "fuzz $target: ${runs:-?} inputs in ${seconds} s, no finding"
  else
    tail -n 60 "build-fuzz/$target.log"
    echo "fuzz $target: FINDING, input saved in $findings/ (full log: build-fuzz/$target.log)"
    failed=1
  fi
done
exit $failed
