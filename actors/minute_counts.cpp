#include "minute_counts.hpp"

#include <algorithm>

namespace adclick {

void minute_counts::seed(std::int64_t minute, std::uint64_t count) {
  buckets_.emplace(minute, bucket{count, false});
}

void minute_counts::add(std::int64_t minute, std::uint64_t n) {
  auto& b = buckets_[minute];
  b.count += n;
  if (!b.changed) {
    b.changed = true;
    ++changed_;
  }
}

std::uint64_t minute_counts::get(std::int64_t minute) const {
  auto i = buckets_.find(minute);
  return i == buckets_.end() ? 0 : i->second.count;
}

std::vector<minute_count> minute_counts::take_changes() {
  std::vector<minute_count> out;
  out.reserve(changed_);
  for (auto& [minute, b] : buckets_) {
    if (!b.changed) continue;
    out.push_back({minute, b.count});
    b.changed = false;
  }
  changed_ = 0;
  return out;
}

void minute_counts::overlay(std::int64_t from_ms, std::int64_t to_ms,
                            std::vector<series_point>& points) const {
  auto first = buckets_.lower_bound(from_ms);
  auto last = buckets_.lower_bound(to_ms);
  if (first == last) return;
  std::vector<series_point> merged;
  merged.reserve(points.size() + static_cast<std::size_t>(std::distance(first, last)));
  auto p = points.begin();
  for (auto b = first; b != last; ++b) {
    while (p != points.end() && p->start_ms < b->first) merged.push_back(*p++);
    series_point sp{b->first, b->second.count, bucket_state::open, 0};
    if (p != points.end() && p->start_ms == b->first) {
      sp.state = p->state;
      sp.version = p->version;
      ++p;
    }
    if (sp.count != 0) merged.push_back(sp);
  }
  merged.insert(merged.end(), p, points.end());
  points.swap(merged);
}

}  // namespace adclick
