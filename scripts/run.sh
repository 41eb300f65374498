#!/usr/bin/env bash
# Installs, builds and starts the host with the chat example on port 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/host/microsockets --port "${PORT:-8000}" --plugins build/examples/chat/plugins --watch \
  --static build/examples/chat/www "$@"
