#!/usr/bin/env bash
# The steady-state benchmark (`scripts/bench.sh steady[-NAME]`): memory and disk once the
# hot horizon is full and minutes finalize and leave memory, which a burst of 50 s of
# event time never shows.
#
#   1. Release build; a fresh nats-server and adclickd on free loopback ports, with the
#      default windows (allowed-lateness 10 min). BENCH_LATENESS_S shortens it for a
#      quicker look (120 s covers lateness + 3 minutes in 5.5 minutes of wall time); this
#      machine's disk holds the default's 14 minutes at 150k clicks/s (about 2.6 GB).
#   2. `adclick load` publishes at BENCH_STEADY_RATE clicks/s (default 150,000) for
#      BENCH_STEADY_SECONDS (default: lateness + 4 minutes), event time at the wall clock, over 100k ads
#      (Zipf 1.1) in 1000-click batches, 5% of publishes repeating one of the clicks of the
#      last lateness - 15 s (so minutes apart, yet in an open minute), with the truth;
#      random ids, or BENCH_ID_LAYOUT=sequenced (BENCH_MINTERS minters, default 4).
#   3. Every 5 s: adclickd's RSS and its status (dedup bytes, ids in memory, clicks in
#      open minutes, lag). Steady state is every sample after lateness + out-of-orderness +
#      90 s, when the oldest open minute is as old as it gets.
#   4. After the load: every click counted, checkpointed and acked; `adclick verify` (the
#      live view against the truth); the store's bytes on disk per click.
# Keys: steady_rss_mib, hot_bytes_per_id (dedup bytes / clicks in open minutes, averaged
# over the steady samples), hot_horizon_s (those clicks / the rate), rss_anon_mib and
# rss_file_mib (the kernel's split), status_failures and status_ms_p50/max (how the status
# the samples come from answered), store_bytes_per_click, store_id_bytes_per_click,
# and rss_at_1m_per_s_gib: what the same service would need at 1M clicks/s with the
# default windows (allowed-lateness 10 min), modelled as RSS minus dedup bytes (the rest:
# counts, actors, buffers; assumed not to grow with the click rate) plus hot_bytes_per_id x
# 1M x the hot horizon with the default lateness. `exact` is the verify's verdict.
#
# The soak (BENCH_RETENTION_S set, e.g. `BENCH_LATENESS_S=60 BENCH_HORIZON_S=150
# BENCH_RETENTION_S=180 scripts/bench.sh steady-soak`): dedup.horizon and retention.minute
# shortened to minutes (hours and days kept), so that ids and minute counts leave the disk
# during the run. Each sample also records the store's size on disk (du) and status's bytes
# by kind; `disk_mib_by_minute` ([min, max] per minute of the run) and
# `disk_growth_mib_per_min` (over the second half of the
# run, when everything older than the retention is gone) show whether it stays flat. The
# minutes past retention are refused (410), so `exact` is then the verify of the ads' hours
# (the truth rolled up, `adclick verify --granularity hour`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
name=${1:-steady}
rate=${BENCH_STEADY_RATE:-150000}
lateness_s=${BENCH_LATENESS_S:-600}
seconds=${BENCH_STEADY_SECONDS:-$((lateness_s + 240))}
ads=${BENCH_ADS:-100000}
batch=${BENCH_BATCH:-1000}
ooo_s=5
id_layout=${BENCH_ID_LAYOUT:-random}  # or sequenced (README "Click ids")
minters=${BENCH_MINTERS:-4}
clicks=$((rate * seconds))
dup_window=$((rate * (lateness_s - 15)))
horizon_s=${BENCH_HORIZON_S:-3600}
retention_s=${BENCH_RETENTION_S:-}  # empty: the defaults (7 days of minutes)
retention_flags=()
verify_gran=minute
if [[ -n $retention_s ]]; then
  retention_flags=(--retention.minute=${retention_s}s --retention.hour=0s --retention.day=0s --retention.interval=10s --live.replay=${retention_s}s)
  verify_gran=hour
fi

bench_start steady --windows.allowed-lateness=${lateness_s}s --windows.max-out-of-orderness=${ooo_s}s \
  --dedup.horizon=${horizon_s}s "${retention_flags[@]}"

echo "steady: $rate clicks/s for $seconds s ($clicks clicks), $ads ads, Zipf 1.1, 5% repeats, lateness ${lateness_s}s, $id_layout ids" >&2
t0=$(date +%s.%N)
"$adclick" load --nats "$nats" --clicks "$clicks" --ads "$ads" --zipf 1.1 --batch "$batch" --seed 1 --quiet \
  --rate "$rate" --event-rate "$rate" --dup-rate 0.05 --dup-window "$dup_window" \
  --lateness-ms $((lateness_s * 1000)) --ooo-ms $((ooo_s * 1000)) --horizon-ms $((horizon_s * 1000)) --truth "$work/truth" \
  --id-layout "$id_layout" --minters "$minters" &
loader_pid=$!
started_pids+=("$loader_pid")

# One JSON line per sample: seconds since the start, RSS, how long status took, and its
# fields (or status_failed: no answer within 10 s).
: >"$work/samples.jsonl"
while kill -0 "$loader_pid" 2>/dev/null; do
  sleep 5
  rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$adclickd_pid/status")
  # (du fails when a file it listed is compacted away before it is read: keep its total)
  disk_bytes=$( (du -sb "$work/data/db" 2>/dev/null || true) | awk 'NR == 1 {print $1}')
  disk_bytes=${disk_bytes:-0}
  asked=$(date +%s%N)
  body=$(curl -sf --max-time 10 "$http/v1/admin/status" || true)
  status_ms=$((($(date +%s%N) - asked) / 1000000))
  printf '%s' "$body" | python3 -c '
import json, sys
t, rss_kb, status_ms, disk = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4] or 0)
raw = sys.stdin.read()
try:
    s = json.loads(raw)
except ValueError:  # no answer, or a partial one (curl keeps what came before its timeout)
    print(json.dumps({"t": t, "rss_kb": rss_kb, "status_ms": status_ms, "disk_bytes": disk, "status_failed": True}))
    sys.exit()
m = s.get("memory", {})
print(json.dumps({"t": t, "rss_kb": rss_kb, "status_ms": status_ms, "dedup_bytes": s.get("dedup_bytes", 0),
  "dedup_ids": s.get("dedup_ids_in_memory", 0), "open_clicks": s.get("open_clicks", 0),
  "arrived": s["arrived"], "lag_messages": sum(p["lag_messages"] for p in s["partitions"]),
  "final_before_ms": min(p["durable_final_before_ms"] for p in s["partitions"]),
  "rss_anon": m.get("rss_anon_bytes", 0), "rss_file": m.get("rss_file_bytes", 0), "disk_bytes": disk,
  "storage": {k: v for k, v in s.get("storage", {}).items() if k.endswith("_bytes") or k.startswith("purged")}}))
' "$(python3 -c "import time; print(round(time.time() - $t0, 1))")" "$rss_kb" "$status_ms" "$disk_bytes" >>"$work/samples.jsonl"
done
wait "$loader_pid"
t_published=$(date +%s.%N)
"$adclick" wait --http "$http" --arrived "$clicks" --timeout 1800 >/dev/null
t_drained=$(date +%s.%N)
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$adclickd_pid/status")
exact=true
"$adclick" verify --http "$http" --truth "$work/truth" --allow-idle-final --wait 120 --granularity "$verify_gran" \
  >"$work/verify.txt" || exact=false
tail -3 "$work/verify.txt" >&2
curl -sf --max-time 10 "$http/v1/admin/status" >"$work/final_status.json" || echo '{}' >"$work/final_status.json"
kill "$adclickd_pid"; wait "$adclickd_pid" 2>/dev/null || true
store_bytes=$(du -sb "$work/data/db" | cut -f1)

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d)-$name.json"
python3 - "$out" "$work/samples.jsonl" <<PY
import json, sys
sys.path.insert(0, "scripts")
from bench_result import header
all_samples = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
samples = [s for s in all_samples if not s.get("status_failed")]
status_ms = sorted(s["status_ms"] for s in all_samples)
lateness_s, ooo_s, rate, clicks = $lateness_s, $ooo_s, $rate, $clicks
fill_s = lateness_s + ooo_s + 90
steady = [s for s in samples if s["t"] >= fill_s]
if len(steady) < 3:
    sys.exit("steady: fewer than 3 samples after the hot horizon filled; run longer (BENCH_STEADY_SECONDS)")
mean = lambda k: sum(s[k] for s in steady) / len(steady)
dedup_bytes, open_clicks, rss = mean("dedup_bytes"), mean("open_clicks"), mean("rss_kb") * 1024
hot_bytes_per_id = dedup_bytes / open_clicks if open_clicks else None
hot_horizon_s = open_clicks / rate
default_hot_s = hot_horizon_s - lateness_s + 600
t0, tp, td = $t0, $t_published, $t_drained
final = json.load(open("$work/final_status.json")).get("storage", {})
result = {
  **header("$name"),
  "workload": {"clicks_per_s": rate, "seconds": $seconds, "clicks": clicks, "ads": $ads, "zipf": 1.1, "batch": $batch,
               "dup_rate": 0.05, "dup_window_clicks": $dup_window, "id_layout": "$id_layout",
               "minters": $minters if "$id_layout" == "sequenced" else None,
               "allowed_lateness_s": lateness_s, "max_out_of_orderness_s": ooo_s, "dedup_horizon_s": $horizon_s,
               "retention_minute_s": int("${retention_s:-604800}")},
  "exact": "$exact" == "true",
  "verified_at": "$verify_gran",
  "publish_seconds": round(tp - t0, 1),
  "drain_seconds_after_publish": round(td - tp, 1),
  "steady_samples": len(steady),
  "steady_from_s": fill_s,
  "steady_rss_mib": round(rss / 2**20, 1),
  "peak_rss_mib": round($peak_kb / 1024, 1),
  "dedup_bytes_mib": round(dedup_bytes / 2**20, 1),
  # The kernel's split of the RSS (status.memory): anonymous (heap, stacks) and file pages.
  "rss_anon_mib": round(mean("rss_anon") / 2**20, 1),
  "rss_file_mib": round(mean("rss_file") / 2**20, 1),
  # Status answered within 10 s or not, and how long it took (p50 and max).
  "status_failures": sum(1 for s in all_samples if s.get("status_failed")),
  "status_ms_p50": status_ms[len(status_ms) // 2] if status_ms else None,
  "status_ms_max": status_ms[-1] if status_ms else None,
  "ids_in_memory": round(mean("dedup_ids")),
  "open_clicks": round(open_clicks),
  "hot_bytes_per_id": round(hot_bytes_per_id, 2) if hot_bytes_per_id else None,
  "hot_horizon_s": round(hot_horizon_s, 1),
  "max_lag_messages_steady": max(s["lag_messages"] for s in steady),
  "minutes_final_by_end": round((max(s["final_before_ms"] for s in samples) / 1000 - t0) / 60, 1),
  "store_bytes_per_click": round($store_bytes / clicks, 1),
  # The store's own estimate by kind (status.storage), at the end of the run: the ids'
  # chunks and the final minutes' filters and runs, per click.
  "store_id_bytes_per_click": round((final.get("ids_bytes", 0) + final.get("runs_bytes", 0) + final.get("filters_bytes", 0)) / clicks, 2),
  "store_by_kind": final,
  "rss_at_1m_per_s_gib": round(((rss - dedup_bytes) + (hot_bytes_per_id or 0) * 1e6 * default_hot_s) / 2**30, 2),
  # The store on disk over the run (du of the database directory), once a minute, and how
  # fast it grew over the second half of the run (flat: retention deletes as fast as
  # clicks arrive).
  "disk_mib_by_minute": [[round(min(v) / 2**20, 1), round(max(v) / 2**20, 1)] for _, v in sorted(
      {m: [s["disk_bytes"] for s in all_samples if int(s["t"] // 60) == m] for m in {int(s["t"] // 60) for s in all_samples}}.items())],
  "disk_growth_mib_per_min": (lambda xs: round((xs[-1]["disk_bytes"] - xs[0]["disk_bytes"]) / 2**20 /
                                               max(1e-9, (xs[-1]["t"] - xs[0]["t"]) / 60), 1) if len(xs) > 1 else None)(
      [s for s in all_samples if s["t"] >= (tp - t0) / 2]),
  "model": "rss_at_1m_per_s = (steady RSS - dedup bytes) + hot_bytes_per_id x 1e6 x (hot_horizon_s - lateness + 600 s)",
  "samples": all_samples,
}
json.dump(result, open(sys.argv[1], "w"), indent=2)
print(json.dumps({k: v for k, v in result.items() if k not in ("samples", "machine")}, indent=2))
PY
echo "steady: wrote $out" >&2
