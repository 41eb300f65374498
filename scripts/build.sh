#!/usr/bin/env bash
# Configures and builds into build/ (or $1, with extra cmake arguments after it).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache hashes paths relative to the checkout, so that another clone (CI's,
# a second worktree) reuses what this one compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$dir.configure.log" 2>&1 \
  || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir"
