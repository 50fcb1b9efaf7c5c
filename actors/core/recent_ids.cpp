#include "actors/core/recent_ids.hpp"

#include <algorithm>

#include "persistence/bloom.hpp"

namespace adclick {

void recent_ids::load(std::int64_t minute, const std::vector<click_id>& ids) {
  auto& m = minutes_[minute];
  for (const auto& id : ids) m.all.insert(id);
  m.filter.clear();  // the set is complete now
}

void recent_ids::load_filter(std::int64_t minute, std::string filter) { minutes_[minute].filter = std::move(filter); }

recent_ids::insert_result recent_ids::insert(std::int64_t minute, const click_id& id) {
  auto& m = minutes_[minute];
  if (m.all.contains(id)) return insert_result::duplicate;
  if (!m.filter.empty()) {
    if (bloom::may_contain(m.filter, id)) return insert_result::need_ids;
    bloom::add(m.filter, id);
  }
  m.all.insert(id);
  m.fresh.push_back(id);
  return insert_result::added;
}

std::string recent_ids::filter(std::int64_t minute) const {
  auto it = minutes_.find(minute);
  if (it == minutes_.end()) return bloom::build({});
  if (!it->second.filter.empty()) return it->second.filter;  // already holds every id added
  return bloom::build(it->second.all.ids());
}

std::vector<minute_ids> recent_ids::take_changes() {
  std::vector<minute_ids> out;
  for (auto& [minute, m] : minutes_) {
    if (m.fresh.empty()) continue;
    std::sort(m.fresh.begin(), m.fresh.end());
    out.push_back({minute, std::move(m.fresh)});
    m.fresh = {};
  }
  return out;
}

void recent_ids::drop(const std::vector<std::int64_t>& minutes) {
  for (auto minute : minutes) {
    auto it = minutes_.find(minute);
    if (it != minutes_.end() && it->second.fresh.empty()) minutes_.erase(it);
  }
}

std::size_t recent_ids::ids_in_memory() const {
  std::size_t n = 0;
  for (const auto& [minute, m] : minutes_) n += m.all.size();
  return n;
}

std::size_t recent_ids::memory_bytes() const {
  std::size_t n = 0;
  for (const auto& [minute, m] : minutes_)
    n += m.all.memory_bytes() + m.fresh.capacity() * sizeof(click_id) + m.filter.capacity();
  return n;
}

}  // namespace adclick
