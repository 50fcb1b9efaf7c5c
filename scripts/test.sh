#!/usr/bin/env bash
# Builds adclick and runs every test (unit, actor, integration, e2e) three times:
#   release   RelWithDebInfo, as shipped
#   asan      Debug with AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan      Debug with ThreadSanitizer, without the e2e label. Debian's CAF, nats.c and
#             LevelDB are not instrumented: every CAF message hand-off then looks like a
#             race, and each suppressed report (tests/tsan.supp) still costs a stack
#             symbolisation, which slows a whole adclickd to a crawl. Our own threads
#             (ingress, ack cursor, subprocess, HTTP) are covered by the other labels.
# Installs missing Debian packages first. Exits non-zero on any failure.
#   ADCLICK_TEST_QUICK=1 scripts/test.sh   only the release suite
#   scripts/test.sh -R e2e                 extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh

suite() {
  local name=$1 build_type=$2 sanitize=$3
  shift 3
  echo "== $name: configure and build" >&2
  cmake -S "$root" -B "build/$name" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
    -DADCLICK_SANITIZE="$sanitize" >/dev/null
  cmake --build "build/$name" -j "$(nproc)"
  echo "== $name: test" >&2
  (cd "build/$name" && ctest --output-on-failure -j 2 --timeout 600 "$@")
}

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/tsan.supp"

suite release RelWithDebInfo "" "$@"
if [ "${ADCLICK_TEST_QUICK:-0}" != 1 ]; then
  suite asan Debug address "$@"
  suite tsan Debug thread -LE "e2e|faults" "$@"
fi
echo "scripts/test.sh: all suites passed" >&2
