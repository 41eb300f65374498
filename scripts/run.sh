#!/usr/bin/env bash
# Installs what running needs (no test tools), builds, and starts the host
# with the chat example on port 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
# A first build here leaves the tests out (they need node and more); a build
# the tests configured keeps them.
first_build=()
[[ -f build/CMakeCache.txt ]] || first_build=(-DMICROSOCKETS_TESTS=OFF)
scripts/build.sh build "${first_build[@]}"
exec build/host/microsockets --port "${PORT:-8000}" --plugins build/examples/chat/plugins --watch \
  --static build/examples/chat/www "$@"
