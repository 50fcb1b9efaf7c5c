#!/usr/bin/env bash
# Benchmark v1: end-to-end clicks/s on this machine (nats-server + adclickd + load
# generator together), against the raw limit measured in the same run.
#
#   1. Release build; a fresh nats-server and adclickd on free loopback ports.
#   2. `adclick load` publishes BENCH_CLICKS clicks (default 5,000,000) at full speed in
#      1000-click batches over 100k ads (Zipf 1.1).
#   3. End to end = clicks / (first publish -> every click counted, checkpointed, acked),
#      measured by `adclick wait` polling /v1/admin/status.
#   4. Catch-up: a second adclickd on a fresh store reads the whole stream, already in
#      JetStream, with no publisher competing for the CPU: adclickd's own rate.
#   5. The null consumer (`adclick null-consume`: fetch, decode, ack, nothing else) reads
#      the same stream: the raw limit for catch-up.
#   6. Peak RSS of adclickd (VmHWM) in both runs; the store's bytes on disk per click
#      (counts, positions and click ids); the recent-id set's bytes per id in memory.
#   7. The read side, on a fresh nats-server and adclickd: 5 ads with 90 days and one day of
#      history plus 1M clicks over the 100k ads; `adclick bench-read` times (p50/p99) one ad
#      over 24 h by minute, one ad over 90 days by day, the top-100 over 1 h and 30 days,
#      once their minutes are final; then the sustained maximum (paced 12-s loads at rising
#      rates, event time at the wall clock: the highest rate drained within 2 s of the last
#      publish); then click-to-live (publish to SSE event) while a load runs at half of it.
#   BENCH_ADCLICKD_FLAGS="--live.nats=true" scripts/bench.sh name   (flags for every adclickd)
# Writes bench/results/<date>-<name>.json with the machine description.
#   scripts/bench.sh steady        memory and disk at steady state instead (bench_steady.sh)
#   scripts/bench.sh ads           1M ads, kill -9, restart and catch-up instead (bench_ads.sh)
#   scripts/bench.sh ads-hour      1M ads clicked over an hour: memory (bench_ads_hour.sh)
#   scripts/bench.sh [name]        BENCH_CLICKS=1000000 scripts/bench.sh quick
#   BENCH_ADCLICKD_FLAGS="--live.nats=false" scripts/bench.sh no-live   (flags for both adclickd runs)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
name=${1:-e2e}
# steady, steady-NAME: the steady-state memory and disk benchmark (scripts/bench_steady.sh).
# ads, ads-NAME: a million ads, kill -9, queries and catch-up after it (scripts/bench_ads.sh).
# ads-hour, ads-hour-NAME: a million ads clicked over an hour: memory (scripts/bench_ads_hour.sh).
case "$name" in
  steady*) exec scripts/bench_steady.sh "$name" ;;
  ads-hour*) exec scripts/bench_ads_hour.sh "$name" ;;
  ads*) exec scripts/bench_ads.sh "$name" ;;
esac
clicks=${BENCH_CLICKS:-5000000}
ads=${BENCH_ADS:-100000}
batch=${BENCH_BATCH:-1000}

now() { date +%s.%N; }

bench_start bench

echo "bench: $clicks clicks, $ads ads, Zipf 1.1, batches of $batch" >&2
t0=$(now)
"$adclick" load --nats "$nats" --clicks "$clicks" --ads "$ads" --zipf 1.1 --batch "$batch" --seed 1 \
  --quiet --event-rate 100000
t_published=$(now)
"$adclick" wait --http "$http" --arrived "$clicks" --timeout 1800 >/dev/null
t1=$(now)
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$adclickd_pid/status")
status=$(curl -sf "$http/v1/admin/status")
messages=$(python3 -c 'import json,sys; print(sum(p["fetched_messages"] for p in json.load(sys.stdin)["partitions"]))' <<<"$status")
active_ads=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["active_ads"])' <<<"$status")
kill "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true

echo "bench: catch-up of the same stream by a fresh adclickd" >&2
start_bg "$work/adclickd2.log" "$adclickd" --nats.url="$nats" --storage.dir="$work/data2" --http.address=127.0.0.1:$http_port ${BENCH_ADCLICKD_FLAGS:-}
adclickd_pid=$!
t2=$(now)
"$adclick" wait --http "$http" --arrived "$clicks" --timeout 1800 >/dev/null
t3=$(now)
catchup_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$adclickd_pid/status")
kill "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true
store_bytes=$(du -sb "$work/data2/db" | cut -f1)
id_memory_json=$(build/bench/bench/bench_id_memory)

null_json=$("$adclick" null-consume --nats "$nats" --messages "$messages" --timeout 600)

# The read side, on a service of its own (so that the numbers above stay comparable):
# history for the one-ad queries (5 ads over 90 days, then over the last day), 1M clicks
# over the 100k ads for the top-100, then query latencies, then click-to-live latency
# while a load publishes at half the end-to-end rate measured above.
echo "bench: read side" >&2
nats_port2=$(free_port)
start_nats "$nats_port2" "$work/nats2" "$work/nats2.log"
nats2=nats://127.0.0.1:$nats_port2
start_bg "$work/adclickd3.log" "$adclickd" --nats.url="$nats2" --storage.dir="$work/data3" --http.address=127.0.0.1:$http_port ${BENCH_ADCLICKD_FLAGS:-}
adclickd_pid=$!
wait_ready "$http"
history=${BENCH_HISTORY:-200000}
wall_ms=$(($(date +%s%N) / 1000000))
"$adclick" load --nats "$nats2" --clicks "$history" --ads 5 --batch 100 --seed 11 --quiet \
  --start-ms $((wall_ms - 92 * 86400000)) --event-rate "$(python3 -c "print($history / (90 * 86400))")"
"$adclick" load --nats "$nats2" --clicks "$history" --ads 5 --batch 100 --seed 12 --quiet \
  --start-ms $((wall_ms - 25 * 3600000)) --event-rate "$(python3 -c "print($history / 86400)")"
"$adclick" load --nats "$nats2" --clicks 1000000 --ads "$ads" --zipf 1.1 --batch "$batch" --seed 13 --quiet \
  --start-ms $((wall_ms - 30 * 60000)) --event-rate 1000
arrived=$((2 * history + 1000000))
"$adclick" wait --http "$http" --arrived $arrived --timeout 1800 >/dev/null
# Quiet before timing queries: the 1M clicks end 13 minutes before the wall clock, and
# idle-advance (30 s) then finalizes their minutes; wait until that is durable.
echo "bench: waiting until the loaded minutes are final" >&2
python3 - "$http" $((wall_ms - 12 * 60000)) <<'PY'
import json, sys, time, urllib.request
deadline = time.time() + 300
while time.time() < deadline:
    s = json.load(urllib.request.urlopen(sys.argv[1] + "/v1/admin/status", timeout=10))
    if min(p["durable_final_before_ms"] for p in s["partitions"]) >= int(sys.argv[2]):
        sys.exit(0)
    time.sleep(1)
sys.exit("bench: the loaded minutes did not become final within 300 s")
PY
sleep 2
queries_json=$("$adclick" bench-read --http "$http" --iterations "${BENCH_QUERY_ITERATIONS:-1000}")

# The sustained maximum: paced loads (event time at the wall clock) of rising rates; a rate
# is sustained when the publisher kept its pace (within 5%) and every click is counted,
# checkpointed and acked within 2 s of the last publish (one checkpoint interval and a
# margin). Steps are fractions of the end-to-end burst rate above, which includes a
# catch-up after the publisher is done; the result says if the last step still passed
# (the ladder was capped, not the service).
e2e_rate=$(python3 -c "print(int($clicks / ($t1 - $t0)))")
step_s=${BENCH_STEP_SECONDS:-12}
sustained=0
steps=""  # "rate publish_s drain_s;" per step
seed=20
for share in 0.3 0.4 0.5 0.6 0.7 0.8 0.9; do
  rate=$(python3 -c "print(int($e2e_rate * $share))")
  seed=$((seed + 1))
  arrived=$((arrived + rate * step_s))
  ts0=$(now)
  "$adclick" load --nats "$nats2" --clicks $((rate * step_s)) --ads "$ads" --zipf 1.1 --batch "$batch" --seed $seed \
    --quiet --rate "$rate" --event-rate "$rate"
  ts1=$(now)
  "$adclick" wait --http "$http" --arrived $arrived --timeout 600 >/dev/null
  ts2=$(now)
  drain=$(python3 -c "print(round($ts2 - $ts1, 2))")
  echo "bench: $rate clicks/s for $step_s s: drained $drain s after the last publish" >&2
  steps+="$rate $(python3 -c "print(round($ts1 - $ts0, 2))") $drain;"
  capped=false
  if python3 -c "import sys; sys.exit(0 if $drain <= 2.0 and $ts1 - $ts0 <= 1.05 * $step_s else 1)"; then
    sustained=$rate
    capped=true
  else
    break
  fi
done
if [ "$sustained" -eq 0 ]; then
  echo "bench: not even $rate clicks/s was sustained; click-to-live runs at half of it" >&2
  half_of=$rate
else
  half_of=$sustained
fi
half=$((half_of / 2))
echo "bench: click-to-live latency at $half clicks/s (half of $half_of)" >&2
"$adclick" load --nats "$nats2" --clicks $((half * 30)) --ads "$ads" --zipf 1.1 --batch "$batch" --seed 14 \
  --quiet --rate "$half" --event-rate "$half" &
loader_pid=$!
sleep 3
live_json=$("$adclick" bench-read --http "$http" --nats "$nats2" --no-queries --probes 200 --probe-interval-ms 100)
wait "$loader_pid" || true
kill "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d)-$name.json"
python3 - "$out" <<PY
import json, sys
sys.path.insert(0, "scripts")
from bench_result import header
null = json.loads('''$null_json''')
queries = json.loads('''$queries_json''')
live = json.loads('''$live_json''')
clicks, t0, tp, t1, t2, t3 = $clicks, $t0, $t_published, $t1, $t2, $t3
result = {
  **header("$name"),
  "workload": {"clicks": clicks, "ads": $ads, "zipf": 1.1, "batch": $batch, "messages": $messages},
  "end_to_end_clicks_per_s": round(clicks / (t1 - t0)),
  "end_to_end_seconds": round(t1 - t0, 3),
  "publish_seconds": round(tp - t0, 3),
  "catchup_clicks_per_s": round(clicks / (t3 - t2)),
  "catchup_seconds": round(t3 - t2, 3),
  "null_consumer_clicks_per_s": null["clicks_per_s"],
  "catchup_share_of_null_consumer": round(clicks / (t3 - t2) / null["clicks_per_s"], 3),
  "query_latency": queries,
  "sustained_clicks_per_s": $sustained or None,
  "sustained_capped_by_ladder": $( [ "$capped" = true ] && echo True || echo False ),
  "sustained_steps": [dict(clicks_per_s=int(r), publish_s=float(p), drain_s=float(d))
                      for r, p, d in (x.split() for x in "$steps".split(";") if x.strip())],
  "click_to_live_at_half_sustained": dict(live["click_to_live"], load_clicks_per_s=$half),
  "adclickd_peak_rss_mib": round($rss_kb / 1024, 1),
  "catchup_peak_rss_mib": round($catchup_rss_kb / 1024, 1),
  "store_bytes_per_click": round($store_bytes / clicks, 1),
  "recent_id_set_bytes_per_id": json.loads('$id_memory_json'),
  "active_ads": $active_ads,
}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps(result, indent=2))
PY
echo "bench: wrote $out" >&2
