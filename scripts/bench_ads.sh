#!/usr/bin/env bash
# The many-ads benchmark (`scripts/bench.sh ads[-NAME]`): a million distinct ads active at
# once, a kill -9 with all of them in the store, and how soon the restarted adclickd
# answers queries while it catches up.
#
#   1. Release build; a fresh nats-server and adclickd on free loopback ports with the
#      default windows.
#   2. `adclick load` publishes BENCH_CLICKS (default 10M) clicks over BENCH_ADS (default
#      1M) ads, uniform (so every ad is active: about 10 clicks each), in 1000-click
#      batches, at BENCH_ADS_RATE (150k) clicks/s, 100k clicks per second of event time
#      (100 s: every minute stays open), with the truth.
#   3. Halfway through the publishing: RSS and status (ads active, dedup bytes), then
#      kill -9. What is published meanwhile is a backlog.
#   4. adclickd restarts on the same store. Every 50 ms until the first 200: a query for
#      one ad's minutes (`/v1/ads/{ad}/clicks`, live view); `query_after_start_s` is the time from
#      the restart to that answer (200, or 404 if none of its clicks was durable; 503
#      `recovering` before it). Then every click counted,
#      checkpointed and acked (`catchup_after_start_s`), and the RSS and status again.
#   5. `adclick verify` of every ad against the truth (the live view).
# Keys: ads_active (and passivated_over_limit: stopped early for actors.max-active), rss_mib and dedup_bytes_mib before the kill, rss_beyond_ids_mib (RSS
# minus the dedup bytes: what the ads themselves cost), peak_rss_mib over the whole run,
# ready_after_start_s (/readyz), query_after_start_s, catchup_after_start_s, and `exact`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
name=${1:-ads}
ads=${BENCH_ADS:-1000000}
clicks=${BENCH_CLICKS:-10000000}
batch=${BENCH_BATCH:-1000}
rate=${BENCH_ADS_RATE:-150000}
now() { date +%s.%N; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

bench_start ads

echo "ads: $clicks clicks over $ads ads (uniform), batches of $batch" >&2
t0=$(now)
"$adclick" load --nats "$nats" --clicks "$clicks" --ads "$ads" --zipf 0 --batch "$batch" --seed 1 --quiet \
  --rate "$rate" --event-rate 100000 --truth "$work/truth" &
loader_pid=$!
started_pids+=("$loader_pid")

# Halfway: what a million live ads cost, then kill -9.
sleep "$(python3 -c "print($clicks / 2 / $rate)")"
status=$(curl -sf --max-time 10 "$http/v1/admin/status" || echo '{}')  # slow while 1M actors spawn
rss_before=$(rss_mib "$adclickd_pid")
peak_kb=$(hwm_kb "$adclickd_pid")
kill -9 "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true
t_killed=$(now)
echo "ads: killed at $(python3 -c "import json,sys; print(json.load(sys.stdin).get('arrived'))" <<<"$status") arrived, RSS $rss_before MiB" >&2

# The restart: how soon it answers a query, then how soon it has caught up.
ad=$((ads / 2 + 1))
from_ms=$(( $(date +%s) * 1000 - 3600000 ))
to_ms=$(( $(date +%s) * 1000 + 3600000 ))
start_bg "$work/adclickd2.log" "$adclickd" --nats.url="$nats" --storage.dir="$work/data" \
  --http.address=127.0.0.1:$http_port ${BENCH_ADCLICKD_FLAGS:-}
adclickd_pid=$!
t_start=$(now)
t_ready=""
t_query=""
codes=""
deadline=$(( $(date +%s) + 120 ))
while (( $(date +%s) < deadline )); do
  if [[ -z $t_ready ]] && curl -sf --max-time 1 "$http/readyz" >/dev/null 2>&1; then t_ready=$(now); fi
  code=$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' \
    "$http/v1/ads/$ad/clicks?from=$from_ms&to=$to_ms&granularity=minute" || true)
  [[ $codes == *" $code"* ]] || codes="$codes $code"
  # 200, or 404 for an ad none of whose clicks was durable at the kill: answered from the
  # store either way (503 while a partition recovers, 000 before it listens).
  if [[ $code == 200 || $code == 404 ]]; then t_query=$(now); break; fi
  sleep 0.05
done
[[ -n $t_query ]] || { echo "ads: no query answered within 120 s of the restart (codes:$codes)" >&2; exit 1; }
rss_at_query=$(rss_mib "$adclickd_pid")
wait "$loader_pid"
t_published=$(now)
"$adclick" wait --http "$http" --arrived "$clicks" --timeout 1800 >/dev/null
t_caught_up=$(now)
status2=$(curl -sf --max-time 30 "$http/v1/admin/status")
rss_after=$(rss_mib "$adclickd_pid")
peak2_kb=$(hwm_kb "$adclickd_pid")
exact=true
t_verify=$(now)
"$adclick" verify --http "$http" --truth "$work/truth" --allow-idle-final --wait 120 >"$work/verify.txt" || exact=false
t_verified=$(now)
tail -3 "$work/verify.txt" >&2
kill "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true
store_bytes=$(du -sb "$work/data/db" | cut -f1)

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d)-$name.json"
python3 - "$out" <<PY
import json, sys
sys.path.insert(0, "scripts")
from bench_result import header
before, after = json.loads('''$status'''), json.loads('''$status2''')
mib = lambda b: round(b / 2**20, 1)
t_start = $t_start
result = {
  **header("$name"),
  "workload": {"clicks": $clicks, "ads": $ads, "zipf": 0, "batch": $batch, "rate": $rate, "event_rate": 100000,
               "windows": "default (allowed-lateness 10 min)"},
  "exact": "$exact" == "true",
  "ads_active": before.get("active_ads"),
  "passivated_over_limit": before.get("passivated_over_limit", 0),
  "arrived_at_kill": before.get("arrived"),
  "rss_mib": $rss_before,
  "dedup_bytes_mib": mib(before.get("dedup_bytes", 0)),
  "rss_beyond_ids_mib": round($rss_before - before.get("dedup_bytes", 0) / 2**20, 1),
  "peak_rss_mib": round(max($peak_kb, $peak2_kb) / 1024, 1),
  "ready_after_start_s": round($t_ready - t_start, 2) if "$t_ready" else None,
  "query_after_start_s": round($t_query - t_start, 2),
  "query_codes_before_200": "$codes".split(),
  "rss_at_first_query_mib": $rss_at_query,
  "catchup_after_start_s": round($t_caught_up - t_start, 1),
  "publish_done_after_start_s": round($t_published - t_start, 1),
  "ads_active_after_catchup": after["active_ads"],
  "passivated_over_limit_after_catchup": after.get("passivated_over_limit", 0),
  "rss_after_catchup_mib": $rss_after,
  "dedup_bytes_after_catchup_mib": mib(after["dedup_bytes"]),
  "rss_beyond_ids_after_catchup_mib": round($rss_after - after["dedup_bytes"] / 2**20, 1),
  "verify_seconds": round($t_verified - $t_verify, 1),
  "store_bytes_per_click": round($store_bytes / $clicks, 1),
}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
PY
echo "ads: wrote $out" >&2
