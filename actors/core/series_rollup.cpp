#include "actors/core/series_rollup.hpp"

namespace adclick {

std::vector<series_point> rollup(const std::vector<series_point>& points, granularity g) {
  if (g == granularity::minute) return points;
  const auto width = bucket_width(g);
  std::vector<series_point> out;
  for (const auto& p : points) {
    const auto start = bucket_start(p.start_ms, width);
    if (out.empty() || out.back().start_ms != start) {
      out.push_back({start, 0, bucket_state::final, 0});
    }
    auto& b = out.back();
    b.count += p.count;
    b.version = std::max(b.version, p.version);
    if (p.state == bucket_state::open || b.state == bucket_state::open) b.state = bucket_state::open;
    else if (p.state == bucket_state::amended) b.state = bucket_state::amended;
  }
  return out;
}

}  // namespace adclick
