#!/usr/bin/env bash
# Vendors the dashboard's npm packages, pinned by their package-lock.json:
#   web/            uPlot, embedded into adclickd at build time (web/CMakeLists.txt)
#   tests/browser/  playwright-core, the headless Chromium harness (tests/browser/README.md)
# Usage: scripts/vendor-web.sh [all|web|browser]   (default all; CMake runs it with "web")
# Idempotent: quiet and fast when the packages are present. Installs Node.js and npm with apt-get
# when they are missing (sudo only when not root). Reaches only the npm registry.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-all}"
case "$what" in all | web | browser) ;; *) echo "usage: $0 [all|web|browser]" >&2; exit 2 ;; esac

# True when a folder needs `npm ci`: a file that proves its install is missing.
need() {
  case "$1" in
    web) [ ! -f "$root/web/node_modules/uplot/dist/uPlot.iife.min.js" ] || [ ! -f "$root/web/node_modules/uplot/dist/uPlot.min.css" ] ;;
    browser) [ ! -f "$root/tests/browser/node_modules/playwright-core/package.json" ] ;;
  esac
}
todo=()
for d in web browser; do
  if [ "$what" = all ] || [ "$what" = "$d" ]; then
    if need "$d"; then todo+=("$d"); fi
  fi
done
((${#todo[@]} == 0)) && exit 0

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  # Debian 12: nodejs and npm. (A nodejs from elsewhere that bundles npm conflicts with Debian's
  # npm package; then only what is really missing is asked for.)
  pkgs=()
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
  echo "vendor-web: installing ${pkgs[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# Several builds may configure at once: one npm ci per folder at a time.
mkdir -p "$root/build"
exec 9>"$root/build/.vendor-web.lock"
flock -w 600 9 || { echo "vendor-web: could not lock $root/build/.vendor-web.lock" >&2; exit 1; }

for d in "${todo[@]}"; do
  need "$d" || continue # done by another run while we waited
  case "$d" in web) dir="$root/web" ;; browser) dir="$root/tests/browser" ;; esac
  echo "vendor-web: npm ci in ${dir#"$root"/}" >&2
  # --ignore-scripts: neither package needs an install script, so none runs.
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
  if need "$d"; then
    echo "vendor-web: npm ci in ${dir#"$root"/} did not install what it should" >&2
    exit 1
  fi
done
