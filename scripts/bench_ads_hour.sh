#!/usr/bin/env bash
# A million ads active within an hour (`scripts/bench.sh ads-hour[-NAME]`): what adclickd
# holds in memory when 1M distinct ads are clicked over an hour of wall clock, rather than
# all at once (bench_ads.sh does that, with the kill -9).
#
#   1. Release build; a fresh nats-server and adclickd on free loopback ports with the
#      default windows and the default actors.idle-timeout.
#   2. `adclick load` publishes BENCH_CLICKS (default 10M) clicks over BENCH_ADS (default
#      1M) ads, uniform (about 10 clicks each, so all but e^-10 of the ads are clicked), in
#      BENCH_BATCH-click batches (100), paced over BENCH_SECONDS (3600) with event time at
#      the wall clock, 5% duplicates (some of them a minute apart), with the truth. Minutes
#      finalize as the watermark passes them, so finalizing brings passivated ads back too.
#   3. Every 30 s: adclickd's RSS, its CPU seconds so far, and its status (ads active,
#      dedup bytes; null when status did not answer within 20 s).
#   4. Every click counted, checkpointed and acked within 600 s of the last publish
#      (`caught_up_within_600_s`); `adclick verify` against the truth.
# Keys: base_rss_mib (before the first click); from the samples of the second half of the
# publishing (the steady state: the active set no longer grows): max_rss_mib,
# max_active_ads, max_rss_beyond_ids_mib (RSS minus the dedup bytes) and
# bytes_per_active_ad (median over those samples of (RSS - dedup - base) / active);
# peak_rss_mib (VmHWM over the run); steady_cpu_cores (adclickd's CPU over the steady samples);
# status_unanswered (samples whose status timed out); model_active_ads (what the idle timeout predicts:
# ads x (1 - e^(-clicks per ad x idle-timeout / BENCH_SECONDS))); `exact`; and the samples.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
name=${1:-ads-hour}
ads=${BENCH_ADS:-1000000}
clicks=${BENCH_CLICKS:-10000000}
seconds=${BENCH_SECONDS:-3600}
batch=${BENCH_BATCH:-100}
idle_s=300  # actors.idle-timeout's default
rate=$(python3 -c "print($clicks / $seconds)")
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }

bench_start "$name"
base_rss=$(rss_mib "$adclickd_pid")

echo "ads-hour: $clicks clicks over $ads ads (uniform) in $seconds s, $rate clicks/s" >&2
"$adclick" load --nats "$nats" --clicks "$clicks" --ads "$ads" --zipf 0 --batch "$batch" --seed 1 --quiet \
  --rate "$rate" --event-rate "$rate" --dup-rate 0.05 --dup-window 200000 --truth "$work/truth" &
loader_pid=$!
started_pids+=("$loader_pid")

t0=$(date +%s)
samples="$work/samples.jsonl"
: >"$samples"
while kill -0 "$loader_pid" 2>/dev/null; do
  sleep 30
  curl -sf --max-time 20 "$http/v1/admin/status" >"$work/status.json" || echo '{}' >"$work/status.json"
  python3 - "$(( $(date +%s) - t0 ))" "$(rss_mib "$adclickd_pid")" "$(cpu_s "$adclickd_pid")" "$work/status.json" >>"$samples" <<'PY'
import json, sys
s = json.load(open(sys.argv[4]))
print(json.dumps({"t_s": int(sys.argv[1]), "rss_mib": float(sys.argv[2]), "cpu_s": float(sys.argv[3]), "active_ads": s.get("active_ads"),
                  "passivated_ads": s.get("passivated_ads"), "arrived": s.get("arrived"),
                  "dedup_mib": round(s["dedup_bytes"] / 2**20, 1) if "dedup_bytes" in s else None,
                  "trims": s.get("memory", {}).get("trims"), "trimmed_mib": round(s.get("memory", {}).get("trimmed_bytes", 0) / 2**20, 1)}))
PY
  tail -1 "$samples" >&2
done
wait "$loader_pid"
# A service that fell behind is a result too: recorded, marked, not verified.
caught_up=true
"$adclick" wait --http "$http" --arrived "$clicks" --timeout 600 >/dev/null || caught_up=false
peak_kb=$(hwm_kb "$adclickd_pid")
exact=false
if $caught_up; then
  exact=true
  "$adclick" verify --http "$http" --truth "$work/truth" --allow-idle-final --wait 120 >"$work/verify.txt" || exact=false
  tail -3 "$work/verify.txt" >&2
fi
kill "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true
store_bytes=$(du -sb "$work/data/db" | cut -f1)

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d)-$name.json"
python3 - "$out" "$samples" <<PY
import json, math, statistics, sys
sys.path.insert(0, "scripts")
from bench_result import header
samples = [json.loads(l) for l in open(sys.argv[2])]
steady = [s for s in samples if $seconds / 2 <= s["t_s"] <= $seconds and s["active_ads"] is not None and s["dedup_mib"] is not None]
base = $base_rss
per_ad = [(s["rss_mib"] - s["dedup_mib"] - base) * 2**20 / s["active_ads"] for s in steady if s["active_ads"]]
result = {
  **header("$name"),
  "workload": {"clicks": $clicks, "ads": $ads, "zipf": 0, "batch": $batch, "seconds": $seconds,
               "rate": $rate, "dup_rate": 0.05, "windows": "default (allowed-lateness 10 min, idle-timeout 5 min)"},
  "caught_up_within_600_s": "$caught_up" == "true",
  "exact": "$exact" == "true",
  "base_rss_mib": base,
  "max_rss_mib": max((s["rss_mib"] for s in steady), default=None),
  "max_active_ads": max((s["active_ads"] for s in steady), default=None),
  "max_rss_beyond_ids_mib": max((round(s["rss_mib"] - s["dedup_mib"], 1) for s in steady), default=None),
  "bytes_per_active_ad": round(statistics.median(per_ad)) if per_ad else None,
  "model_active_ads": round($ads * (1 - math.exp(-$clicks / $ads * $idle_s / $seconds))),
  "peak_rss_mib": round($peak_kb / 1024, 1),
  "steady_cpu_cores": round((steady[-1]["cpu_s"] - steady[0]["cpu_s"]) / (steady[-1]["t_s"] - steady[0]["t_s"]), 2)
                      if len(steady) > 1 else None,
  "status_unanswered": sum(1 for s in samples if s["active_ads"] is None),
  "store_bytes_per_click": round($store_bytes / $clicks, 1),
  "samples": samples,
}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps({k: v for k, v in result.items() if k not in ("machine", "samples")}, indent=2))
PY
echo "ads-hour: wrote $out" >&2
