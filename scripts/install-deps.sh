#!/usr/bin/env bash
# Installs everything microsockets needs on Debian 12: build tools and
# libraries from apt, the tests' JavaScript packages with npm ci.
# Non-interactive, and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
  libfmt-dev doctest-dev libssl-dev
  media-types                  # /etc/mime.types: the content types of --static files
  chromium fonts-dejavu-core   # the browser test drives Debian's Chromium
  prometheus                   # its promtool checks /metrics (tests only; the server is not run)
)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Only promtool is wanted: where systemd started the Prometheus server, stop it.
  if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi

# JavaScript packages, exactly as locked.
for dir in sdk/js tests bench/peers; do
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
