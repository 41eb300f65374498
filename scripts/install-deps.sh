#!/usr/bin/env bash
# Installs what microsockets needs on Debian 12, non-interactive, quick when
# everything is already there.
#   install-deps.sh run    building and running: compilers, CMake, Boost, fmt
#   install-deps.sh        (or "test") all of it, plus what the tests use:
#                          node and the tests' npm packages, Chromium, clang, ...
set -euo pipefail
cd "$(dirname "$0")/.."
set_name=${1:-test}
[[ $set_name == run || $set_name == test ]] || { echo "usage: $0 [run|test]" >&2; exit 2; }

# Building and running the host, its plugins and the examples.
run_packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev
  libfmt-dev
  libssl-dev openssl           # TLS (--tls-cert); the TLS tests make their certificates with openssl
  libhiredis-dev               # the Redis backplane (--redis)
  media-types                  # /etc/mime.types: the content types of --static files
)
# Tests, benchmarks and packaging, on top of the above.
test_packages=(
  doctest-dev
  chromium fonts-dejavu-core   # the browser test drives Debian's Chromium
  clang libclang-rt-14-dev     # a clang++-built plugin; libFuzzer and its sanitizers, for fuzz/
  gcovr                        # line coverage in scripts/test.sh
  python3                      # the plugin template's test (a WebSocket client from the standard library)
  dpkg-dev file                # cpack -G DEB: dpkg-shlibdeps finds the runtime dependencies
  systemd                      # systemd-analyze checks the unit (nothing runs systemd)
  redis-server nginx-light     # the multi-host tests start their own redis-server and nginx
  prometheus                   # its promtool checks /metrics (the server is not run)
)

packages=("${run_packages[@]}")
if [[ $set_name == test ]]; then
  packages+=("${test_packages[@]}")
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

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

# The tests' JavaScript packages, exactly as locked.
if [[ $set_name == test ]]; then
  for dir in sdk/js tests bench/peers; do
    if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi
