#include "actors/core/minute_counts.hpp"

#include <algorithm>

#include "actors/core/rollup.hpp"

namespace adclick {

void minute_counts::seed(const minute_count& stored) {
  bucket b;
  b.value = stored;
  b.moved_from = contribution(stored);
  buckets_.emplace(stored.minute_ms, b);
}

minute_counts::bucket& minute_counts::touch(std::int64_t minute) {
  auto& b = buckets_[minute];
  b.value.minute_ms = minute;
  if (!b.hour) {  // linked at the first change, after the caller seeded the hour and day
    b.hour = &hours_[bucket_start(minute, hour_ms)];
    b.day = &days_[bucket_start(minute, day_ms)];
  }
  if (!b.changed) {
    b.changed = true;
    ++changed_;
  }
  return b;
}

bool minute_counts::has_rollup(granularity g, std::int64_t start) const { return rollups(g).count(start) != 0; }

void minute_counts::seed_rollup(granularity g, std::int64_t start, const rollup_value& stored) {
  rollups(g).emplace(start, rolled{stored, false});
}

void minute_counts::roll(bucket& b, const rollup_value& before) {
  const auto after = contribution(b.value);
  if (after == before) return;
  const auto move = change_between(b.value.minute_ms, before, after);
  for (auto* r : {b.hour, b.day}) {
    add_change(r->value, move);
    r->changed = true;
  }
  b.moved = true;
}

void minute_counts::add(std::int64_t minute) {
  auto& b = touch(minute);
  const auto before = contribution(b.value);
  b.value.count += 1;
  roll(b, before);
}

void minute_counts::add_late(std::int64_t minute) {
  auto& b = touch(minute);
  auto& v = b.value;
  const auto before = contribution(v);
  if (v.state == bucket_state::open) v.version = 1;  // final first
  v.count += 1;
  v.state = bucket_state::amended;
  v.version += 1;
  roll(b, before);
}

std::size_t minute_counts::finalize_before(std::int64_t final_before) {
  std::size_t n = 0;
  for (auto it = buckets_.begin(); it != buckets_.end() && it->first < final_before; ++it) {
    if (it->second.value.state != bucket_state::open) continue;
    auto& b = touch(it->first);
    const auto before = contribution(b.value);
    b.value.state = bucket_state::final;
    b.value.version = 1;
    roll(b, before);
    ++n;
  }
  return n;
}

std::vector<std::int64_t> minute_counts::drop_settled() {
  std::vector<std::int64_t> dropped;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (it->second.changed || it->second.moved || it->second.value.state == bucket_state::open) {
      ++it;
      continue;
    }
    dropped.push_back(it->first);
    dropped_any_ = true;
    it = buckets_.erase(it);
  }
  for (auto g : {granularity::hour, granularity::day}) {
    auto& rs = rollups(g);
    const auto width = bucket_width(g);
    for (auto it = rs.begin(); it != rs.end();) {
      auto first = buckets_.lower_bound(it->first);
      const bool minutes_left = first != buckets_.end() && first->first < it->first + width;
      if (it->second.changed || minutes_left) {
        ++it;
      } else {
        it = rs.erase(it);
        dropped_any_ = true;
      }
    }
  }
  return dropped;
}

std::vector<rollup_count> minute_counts::take_rollup_changes() {
  std::vector<rollup_count> out;
  for (auto g : {granularity::hour, granularity::day})
    for (auto& [start, r] : rollups(g)) {
      if (!r.changed) continue;
      out.push_back({g, start, r.value});
      r.changed = false;
    }
  return out;
}

std::vector<minute_change> minute_counts::take_moves() {
  std::vector<minute_change> out;
  for (auto& [minute, b] : buckets_) {
    if (!b.moved) continue;
    const auto now = contribution(b.value);
    out.push_back(change_between(minute, b.moved_from, now));
    b.moved_from = now;
    b.moved = false;
  }
  return out;
}

void minute_counts::overlay_rollups(granularity g, std::int64_t from_ms, std::int64_t to_ms,
                                    std::vector<std::pair<std::int64_t, rollup_value>>& stored) const {
  const auto& rs = rollups(g);
  auto first = rs.lower_bound(from_ms);
  auto last = rs.lower_bound(to_ms);
  if (first == last) return;
  std::vector<std::pair<std::int64_t, rollup_value>> merged;
  merged.reserve(stored.size() + static_cast<std::size_t>(std::distance(first, last)));
  auto p = stored.begin();
  for (auto r = first; r != last; ++r) {
    while (p != stored.end() && p->first < r->first) merged.push_back(*p++);
    if (p != stored.end() && p->first == r->first) ++p;  // memory is newer
    if (r->second.value.count != 0) merged.emplace_back(r->first, r->second.value);
  }
  merged.insert(merged.end(), p, stored.end());
  stored.swap(merged);
}

std::vector<minute_count> minute_counts::all() const {
  std::vector<minute_count> out;
  out.reserve(buckets_.size());
  for (const auto& [minute, b] : buckets_) out.push_back(b.value);
  return out;
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

std::uint64_t minute_counts::open_clicks() const {
  std::uint64_t n = 0;
  for (const auto& [minute, b] : buckets_)
    if (b.value.state == bucket_state::open) n += b.value.count;
  return n;
}

}  // namespace adclick
