// The one answer path of a query, as pure functions: which ranges are valid, how they are
// aligned, and which buckets a view shows in which state. The doors (HTTP, NATS) parse and
// render only; the partition and gateway actors fetch and call these.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

/// The widest range a query may cover at each granularity: what that granularity keeps
/// (retention.minute, retention.hour; day buckets are kept for ten years of queries).
struct query_limits {
  std::int64_t minute_range_ms = 7LL * 24 * 3'600'000;
  std::int64_t hour_range_ms = 90LL * 24 * 3'600'000;
  std::int64_t day_range_ms = 3660LL * 24 * 3'600'000;
};

/// Fills q's range with [from_ms, to_ms) aligned outward to whole buckets of q.gran.
/// Returns why it is invalid (for a 400), or empty.
std::string normalize(series_query& q, std::int64_t from_ms, std::int64_t to_ms, const query_limits& limits);

/// Fills q's range with [from_ms, to_ms) aligned outward to whole hours (rankings are kept
/// per hour and day). Returns why it is invalid, or empty.
std::string normalize(top_query& q, std::int64_t from_ms, std::int64_t to_ms, const query_limits& limits);

/// The points of rolled-up buckets (an ad's hours or days, a group's summed shares) in a
/// view: states by rollup.hpp's rules against `final_before_ms`; billing keeps only final
/// and amended ones. Empty buckets are left out (series are sparse).
std::vector<series_point> points_of(const std::vector<rollup_count>& rolled, granularity g,
                                    std::int64_t final_before_ms, bool billing);

/// An ad's minute points in a view: billing keeps only final and amended ones.
void keep_view(std::vector<series_point>& minutes, bool billing);

/// Why a query for buckets of `g` from `from_ms` is refused at `watermark_ms` (for an ad:
/// its partition's; for a group or a ranking: the highest partition's): it starts before
/// the first bucket retention keeps (count_retention::retained_from), so part of what it
/// asks for is deleted, or may be at the next pass. Empty if it is not refused.
std::string past_retention(granularity g, std::int64_t from_ms, std::int64_t watermark_ms, const count_retention& keep);

/// Why a query for buckets of `g` from `from_ms` is refused because retention deleted some
/// of them (`floor`, read after the buckets: count_floor). Empty if none was deleted.
/// past_retention refuses what retention will delete; this, what it did.
std::string deleted_by_retention(granularity g, std::int64_t from_ms, const count_floor& floor);

/// Splits [from_ms, to_ms) (whole hours) into the fewest whole days and hours.
std::vector<std::pair<granularity, std::int64_t>> cover_with_days_and_hours(std::int64_t from_ms, std::int64_t to_ms);

}  // namespace adclick
