// Rolls minute points up to hour or day buckets at query time. Pure logic.
// (DESIGN 4.1 wants hour and day buckets stored as minutes finalize; until then a query
// at hour or day granularity sums the minute buckets of its range.)
#pragma once

#include <vector>

#include "common/time.hpp"
#include "messages/types.hpp"

namespace adclick {

constexpr std::int64_t bucket_width(granularity g) {
  return g == granularity::minute ? minute_ms : g == granularity::hour ? hour_ms : day_ms;
}

/// Sums ordered minute `points` into buckets of `g`. A rolled-up bucket is open if any of
/// its minutes is open, amended if any is amended, final otherwise. Its version is 0 while
/// open, else 1 plus the amendments of all its minutes (the sum of their versions minus
/// one each): every late click raises its count and, by one, its version.
std::vector<series_point> rollup(const std::vector<series_point>& points, granularity g);

}  // namespace adclick
