#include "actors/core/recent_ids.hpp"

#include <algorithm>


namespace adclick {

void recent_ids::load(std::int64_t minute, const std::vector<click_id>& ids) {
  auto& m = minutes_[minute];
  for (const auto& id : ids) m.all.insert(id);
  m.filtered = false;  // the set is complete now
  m.filter = id_filter{};
}

void recent_ids::load_filter(std::int64_t minute, id_filter filter) {
  auto& m = minutes_[minute];
  m.filter = std::move(filter);
  m.filtered = true;
}

recent_ids::insert_result recent_ids::insert(std::int64_t minute, const click_id& id) {
  auto& m = minutes_[minute];
  if (m.all.contains(id)) return insert_result::duplicate;
  if (m.filtered && m.filter.may_contain(id)) return insert_result::need_lookup;
  return resolve(minute, id, false);
}

recent_ids::insert_result recent_ids::resolve(std::int64_t minute, const click_id& id, bool stored) {
  if (stored) return insert_result::duplicate;
  auto& m = minutes_[minute];
  if (m.filtered) m.filter.add(id);
  m.all.insert(id);
  m.fresh.push_back(id);
  return insert_result::added;
}

std::string recent_ids::filter(std::int64_t minute) const {
  auto it = minutes_.find(minute);
  if (it == minutes_.end()) return id_filter{}.serialize();
  if (it->second.filtered) return it->second.filter.serialize();  // already holds every id added
  id_filter f{it->second.all.size()};
  for (const auto& id : it->second.all.ids()) f.add(id);
  return f.serialize();
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
    n += m.all.memory_bytes() + m.fresh.capacity() * sizeof(click_id) + m.filter.memory_bytes();
  return n;
}

}  // namespace adclick
