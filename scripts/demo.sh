#!/usr/bin/env bash
# The adclick demo, from nothing: installs what is missing, builds, starts a local
# nats-server (loopback, JetStream, store in a temporary directory) unless one already
# answers on 127.0.0.1:4222, starts adclickd, drives clicks for about 10 seconds with
# `adclick load` while printing progress, verifies the counts, reconciles them with a replay
# of the stream, prints a query result and
# the URLs to open, then stops everything it started (on exit or Ctrl-C).
#   scripts/demo.sh          run and clean up
#   scripts/demo.sh --keep   leave nats-server and adclickd running (their PIDs are printed)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
keep=0
[ "${1:-}" = "--keep" ] && keep=1

echo "demo: building (Release) ..."
build_release build/demo

work=$(mktemp -d /tmp/adclick-demo.XXXXXX)
cleanup() {
  if ((keep)); then
    echo "demo: left running: PIDs ${started_pids[*]:-none} (stop with: kill ${started_pids[*]:-}); data in $work"
    return
  fi
  stop_started
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nats_url=nats://127.0.0.1:4222
if port_open 4222; then
  echo "demo: using the nats-server already on 127.0.0.1:4222"
else
  nats_port=$(free_port)
  nats_url=nats://127.0.0.1:$nats_port
  start_nats "$nats_port" "$work/nats" "$work/nats-server.log"
  echo "demo: started nats-server on $nats_url (pid ${started_pids[-1]})"
fi

http_port=8080
port_open $http_port && http_port=$(free_port)
http=http://127.0.0.1:$http_port
start_bg "$work/adclickd.log" "$adclickd" --nats.url="$nats_url" --storage.dir="$work/data" \
  --http.address=127.0.0.1:$http_port
wait_ready "$http" || { echo "demo: adclickd did not start; log:"; cat "$work/adclickd.log"; exit 1; }
echo "demo: adclickd serving on $http (pid ${started_pids[-1]}, log $work/adclickd.log)"

echo "demo: publishing 200,000 clicks over 10 s (1,000 ads, Zipf 1.1, batches of 100) with faults:"
echo "      5% duplicates, 10% out of order, 0.1% a day in the future, 0.1% garbage messages ..."
start_ms=$(( $(date +%s) * 1000 ))
"$adclick" load --nats "$nats_url" --clicks 200000 --rate 20000 --ads 1000 --zipf 1.1 --batch 100 \
  --seed 42 --event-rate 20000 --dup-rate 0.05 --ooo-rate 0.1 --future-rate 0.001 --malformed-rate 0.001 \
  --truth "$work/truth.json"
"$adclick" verify --http "$http" --truth "$work/truth.json" --wait 30 --allow-idle-final
echo "demo: replaying the stream through the counting code and comparing with what would be billed ..."
"$adclick" reconcile --nats "$nats_url" --http "$http" --wait 30
echo -n "demo: outcomes counted by adclickd: "
curl -sf "$http/v1/admin/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); o=s["outcomes"]; n=s["outbox"]["published"]; print(", ".join(f"{k}={v}" for k,v in o.items() if v) + f"; {n} messages on ADCLICK_FINAL and ADCLICK_DLQ")'
echo
"$adclick" query --http "$http" --ad 1 --from "$start_ms" --to $((start_ms + 120000))
echo
if ((keep)); then echo "Open (the service keeps running):"; else echo "These answer while it runs (scripts/demo.sh --keep leaves it up):"; fi
cat <<TXT
  $http/v1/ads/1/clicks?from=$start_ms&to=$((start_ms + 120000))
  $http/v1/admin/status
  $http/readyz
TXT
((keep)) || echo "demo: stopping what it started."
