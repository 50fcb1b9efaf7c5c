#!/usr/bin/env bash
# The fault suite at full strength (issue 6): every scenario of tests/e2e/faults_test.cpp
# with longer loads and more repetitions (ADCLICK_FAULT_SCALE=4: kill -9 of adclickd 20
# times during a load, nats-server killed and restarted 5 times, ...), plus the e2e kill
# loops. Each scenario ends with `adclick verify` exact and `adclick reconcile` clean.
# scripts/test.sh runs the same tests at scale 1 (the short form). Every loop is bounded
# in count and time; every process a test starts stops with it.
#   scripts/faults.sh               all scenarios
#   scripts/faults.sh -R tmpfs      extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/faults -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/faults -j "$(nproc)"
export ADCLICK_FAULT_SCALE=${ADCLICK_FAULT_SCALE:-4}
cd build/faults
ctest --output-on-failure --timeout 1800 -L faults "$@"
ctest --output-on-failure --timeout 1800 -R "kill -9 at random|1M clicks" "$@"
echo "scripts/faults.sh: every fault scenario passed (scale $ADCLICK_FAULT_SCALE)" >&2
