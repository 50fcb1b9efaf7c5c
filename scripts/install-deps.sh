#!/usr/bin/env bash
# Installs every Debian 12 package adclick needs to build, test, run and benchmark.
# Idempotent: quiet and fast when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libcaf-dev
  libnats-dev nats-server
  libleveldb-dev libsnappy-dev
  libprotobuf-dev protobuf-compiler
  catch2
  libcpp-httplib-dev nlohmann-json3-dev
  prometheus-cpp-dev
  libcli11-dev
  libssl-dev
  curl procps python3
  nodejs chromium
  prometheus    # promtool, for the metrics and alert rule tests (its server is not started)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  # Only promtool is wanted from the prometheus package: a policy-rc.d that says no keeps
  # its maintainer scripts from starting a Prometheus server (and anything else) here.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
  fi
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ -z "$policy" ] || $sudo rm -f "$policy"; exit 1; }
  [ -z "$policy" ] || $sudo rm -f "$policy"
fi

# The dashboard's npm packages (uPlot, embedded at build time; playwright-core for the
# browser test), pinned by their package-lock.json files.
"$(dirname "$0")/vendor-web.sh"
