#include "actors/core/minute_counts.hpp"

#include <algorithm>

namespace adclick {

void minute_counts::seed(const minute_count& stored) { buckets_.emplace(stored.minute_ms, bucket{stored, false}); }

minute_counts::bucket& minute_counts::touch(std::int64_t minute) {
  auto& b = buckets_[minute];
  b.value.minute_ms = minute;
  if (!b.changed) {
    b.changed = true;
    ++changed_;
  }
  return b;
}

void minute_counts::add(std::int64_t minute) { touch(minute).value.count += 1; }

void minute_counts::add_late(std::int64_t minute) {
  auto& v = touch(minute).value;
  if (v.state == bucket_state::open) v.version = 1;  // final first
  v.count += 1;
  v.state = bucket_state::amended;
  v.version += 1;
}

std::size_t minute_counts::finalize_before(std::int64_t final_before) {
  std::size_t n = 0;
  for (auto it = buckets_.begin(); it != buckets_.end() && it->first < final_before; ++it) {
    if (it->second.value.state != bucket_state::open) continue;
    auto& v = touch(it->first).value;
    v.state = bucket_state::final;
    v.version = 1;
    ++n;
  }
  return n;
}

std::vector<std::int64_t> minute_counts::drop_settled() {
  std::vector<std::int64_t> dropped;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (it->second.changed || it->second.value.state == bucket_state::open) {
      ++it;
      continue;
    }
    dropped.push_back(it->first);
    it = buckets_.erase(it);
  }
  return dropped;
}

minute_count minute_counts::get(std::int64_t minute) const {
  auto i = buckets_.find(minute);
  return i == buckets_.end() ? minute_count{minute, 0, bucket_state::open, 0} : i->second.value;
}

std::vector<minute_count> minute_counts::take_changes() {
  std::vector<minute_count> out;
  out.reserve(changed_);
  for (auto& [minute, b] : buckets_) {
    if (!b.changed) continue;
    out.push_back(b.value);
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
    if (p != points.end() && p->start_ms == b->first) ++p;  // memory is newer
    const auto& v = b->second.value;
    if (v.count != 0) merged.push_back({v.minute_ms, v.count, v.state, v.version});
  }
  merged.insert(merged.end(), p, points.end());
  points.swap(merged);
}

}  // namespace adclick
