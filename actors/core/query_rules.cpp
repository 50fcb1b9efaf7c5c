#include "actors/core/query_rules.hpp"

#include <algorithm>

#include "actors/core/ranking.hpp"
#include "actors/core/rollup.hpp"
#include "common/time.hpp"

namespace adclick {

namespace {

/// Years 1 to 9999 (RFC 3339's): far from the int64 edges, so aligning and subtracting
/// cannot overflow.
constexpr std::int64_t earliest_ms = -62'135'596'800'000;
constexpr std::int64_t latest_ms = 253'402'300'799'999;

std::string check_range(std::int64_t from_ms, std::int64_t to_ms) {
  if (from_ms < earliest_ms || to_ms > latest_ms || from_ms > latest_ms || to_ms < earliest_ms)
    return "from and to must be within the years 1 to 9999";
  if (from_ms >= to_ms) return "from must be before to";
  return {};
}

std::string days(std::int64_t ms) { return std::to_string(ms / day_ms) + " days"; }

}  // namespace

std::string normalize(series_query& q, std::int64_t from_ms, std::int64_t to_ms, const query_limits& limits) {
  if (auto e = check_range(from_ms, to_ms); !e.empty()) return e;
  const auto width = bucket_width(q.gran);
  q.from_ms = bucket_start(from_ms, width);
  q.to_ms = bucket_start(to_ms - 1, width) + width;
  const auto limit = q.gran == granularity::minute ? limits.minute_range_ms
                     : q.gran == granularity::hour ? limits.hour_range_ms
                                                   : limits.day_range_ms;
  if (q.to_ms - q.from_ms > limit)
    return std::string{"range too long for granularity "} + to_string(q.gran) + ": at most " + days(limit) +
           " (what that granularity keeps); ask a coarser granularity";
  return {};
}

std::string normalize(top_query& q, std::int64_t from_ms, std::int64_t to_ms, const query_limits& limits) {
  if (auto e = check_range(from_ms, to_ms); !e.empty()) return e;
  if (q.k < 1 || q.k > ranking_capacity) return "k must be between 1 and " + std::to_string(ranking_capacity);
  q.from_ms = bucket_start(from_ms, hour_ms);
  q.to_ms = bucket_start(to_ms - 1, hour_ms) + hour_ms;
  if (q.to_ms - q.from_ms > limits.day_range_ms) return "range too long: at most " + days(limits.day_range_ms);
  return {};
}

std::vector<series_point> points_of(const std::vector<rollup_count>& rolled, granularity g,
                                    std::int64_t final_before_ms, bool billing) {
  std::vector<series_point> out;
  out.reserve(rolled.size());
  const auto width = bucket_width(g);
  for (const auto& r : rolled) {
    if (r.value.count == 0) continue;
    auto p = point_of(r.start_ms, width, r.value, final_before_ms);
    if (billing && p.state == bucket_state::open) continue;
    out.push_back(p);
  }
  return out;
}

void keep_view(std::vector<series_point>& minutes, bool billing) {
  minutes.erase(std::remove_if(minutes.begin(), minutes.end(),
                               [&](const series_point& p) {
                                 return p.count == 0 || (billing && p.state == bucket_state::open);
                               }),
                minutes.end());
}

std::string past_retention(granularity g, std::int64_t from_ms, std::int64_t watermark_ms, const count_retention& keep) {
  const auto kept = keep.retained_from(g, watermark_ms);
  if (!kept || from_ms >= *kept) return {};
  const auto period = g == granularity::minute ? keep.minute_ms : g == granularity::hour ? keep.hour_ms : keep.day_ms;
  return std::string{to_string(g)} + " buckets before " + format_time(*kept) + " are past retention." + to_string(g) +
         " (" + std::to_string(period / 1000) + " s behind the watermark, " + format_time(watermark_ms) +
         "): ask from then on, or at a coarser granularity";
}

std::string deleted_by_retention(granularity g, std::int64_t from_ms, const count_floor& floor) {
  if (from_ms >= floor.of(g)) return {};
  return std::string{to_string(g)} + " buckets before " + format_time(floor.of(g)) +
         " were deleted by retention." + to_string(g) + ": ask from then on, or at a coarser granularity";
}

std::vector<std::pair<granularity, std::int64_t>> cover_with_days_and_hours(std::int64_t from_ms, std::int64_t to_ms) {
  std::vector<std::pair<granularity, std::int64_t>> out;
  for (auto t = from_ms; t < to_ms;) {
    if (bucket_start(t, day_ms) == t && t + day_ms <= to_ms) {
      out.emplace_back(granularity::day, t);
      t += day_ms;
    } else {
      out.emplace_back(granularity::hour, t);
      t += hour_ms;
    }
  }
  return out;
}

}  // namespace adclick
