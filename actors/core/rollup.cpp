#include "actors/core/rollup.hpp"

namespace adclick {

rollup_value contribution(const minute_count& m) {
  rollup_value v;
  v.count = m.count;
  if (m.state == bucket_state::open) v.open_minutes = m.count != 0 ? 1 : 0;
  else v.amendments = m.version - 1;
  return v;
}

minute_change change_between(std::int64_t minute_ms, const rollup_value& before, const rollup_value& after) {
  return {minute_ms, after.count - before.count,
          static_cast<std::int32_t>(after.open_minutes) - static_cast<std::int32_t>(before.open_minutes),
          after.amendments - before.amendments};
}

void add_change(rollup_value& into, const minute_change& c) {
  into.count += c.count;
  into.open_minutes = static_cast<std::uint32_t>(static_cast<std::int64_t>(into.open_minutes) + c.open_minutes);
  into.amendments += c.amendments;
}

rollup_value& operator+=(rollup_value& into, const rollup_value& other) {
  into.count += other.count;
  into.open_minutes += other.open_minutes;
  into.amendments += other.amendments;
  return into;
}

series_point point_of(std::int64_t start_ms, std::int64_t width, const rollup_value& v, std::int64_t final_before_ms) {
  series_point p{start_ms, v.count, bucket_state::open, 0};
  if (v.open_minutes != 0 || start_ms + width > final_before_ms) return p;
  p.state = v.amendments != 0 ? bucket_state::amended : bucket_state::final;
  p.version = 1 + v.amendments;
  return p;
}

std::vector<series_point> rollup(const std::vector<series_point>& points, granularity g, std::int64_t final_before_ms) {
  if (g == granularity::minute) return points;
  const auto width = bucket_width(g);
  std::vector<std::pair<std::int64_t, rollup_value>> sums;
  for (const auto& p : points) {
    const auto start = bucket_start(p.start_ms, width);
    if (sums.empty() || sums.back().first != start) sums.push_back({start, {}});
    sums.back().second += contribution({p.start_ms, p.count, p.state, p.version});
  }
  std::vector<series_point> out;
  out.reserve(sums.size());
  for (const auto& [start, v] : sums) out.push_back(point_of(start, width, v, final_before_ms));
  return out;
}

}  // namespace adclick
