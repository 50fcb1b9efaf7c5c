#include "actors/core/series_rollup.hpp"

namespace adclick {

std::vector<series_point> rollup(const std::vector<series_point>& points, granularity g) {
  if (g == granularity::minute) return points;
  const auto width = bucket_width(g);
  std::vector<series_point> out;
  std::vector<std::uint32_t> amendments;  // per output bucket: sum over its final minutes of version - 1
  for (const auto& p : points) {
    const auto start = bucket_start(p.start_ms, width);
    if (out.empty() || out.back().start_ms != start) {
      out.push_back({start, 0, bucket_state::final, 0});
      amendments.push_back(0);
    }
    auto& b = out.back();
    b.count += p.count;
    if (p.state != bucket_state::open) amendments.back() += p.version - 1;
    if (p.state == bucket_state::open || b.state == bucket_state::open) b.state = bucket_state::open;
    else if (p.state == bucket_state::amended) b.state = bucket_state::amended;
  }
  for (std::size_t i = 0; i < out.size(); ++i) out[i].version = out[i].state == bucket_state::open ? 0 : 1 + amendments[i];
  return out;
}

}  // namespace adclick
