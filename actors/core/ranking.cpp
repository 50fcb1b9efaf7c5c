#include "actors/core/ranking.hpp"

#include <algorithm>
#include <unordered_set>

#include "actors/core/settled.hpp"

namespace adclick {

ranking_keeper::ranking_keeper(const ranking& stored, std::size_t capacity)
  : head_{stored.by, stored.gran, stored.start_ms, {}, 0}, capacity_(capacity), unlisted_max_(stored.unlisted_max) {
  for (const auto& e : stored.top) {
    list_.insert(e);
    listed_[e.id] = e.count;
  }
}

void ranking_keeper::update(std::uint64_t id, std::uint64_t count) {
  if (auto it = listed_.find(id); it != listed_.end()) {
    list_.erase({id, it->second});
    it->second = count;
    list_.insert({id, count});
    return;
  }
  const ranked entry{id, count};
  if (list_.size() < capacity_) {
    list_.insert(entry);
    listed_[id] = count;
    return;
  }
  auto last = std::prev(list_.end());
  if (!ranks_before(entry, *last)) {
    unlisted_max_ = std::max(unlisted_max_, count);
    return;
  }
  unlisted_max_ = std::max(unlisted_max_, last->count);
  listed_.erase(last->id);
  list_.erase(last);
  list_.insert(entry);
  listed_[id] = count;
}

ranking ranking_keeper::snapshot() const {
  ranking out = head_;
  out.top.assign(list_.begin(), list_.end());
  out.unlisted_max = unlisted_max_;
  return out;
}

bool ranking_book::update(entity by, granularity g, std::int64_t start_ms, std::uint64_t id, std::uint64_t count,
                          const seed_fn& seed) {
  const auto k = std::make_tuple(by, g, start_ms);
  auto it = books_.find(k);
  if (it == books_.end()) {
    ranking stored{by, g, start_ms, {}, 0};
    if (!seed(stored)) return false;
    it = books_.emplace(k, entry{ranking_keeper{stored}, false, takes_}).first;
  }
  it->second.keeper.update(id, count);
  it->second.changed = true;
  return true;
}

std::vector<ranking> ranking_book::take_changes() {
  ++takes_;
  std::vector<ranking> out;
  for (auto& [k, e] : books_) {
    if (!e.changed) continue;
    out.push_back(e.keeper.snapshot());
    e.changed = false;
    e.last_take = takes_;
  }
  return out;
}

std::size_t ranking_book::drop_settled(std::uint64_t idle_takes) { return erase_settled(books_, takes_, idle_takes); }

std::vector<ranked> top_of(std::vector<ranked> totals, std::size_t k) {
  const auto n = std::min(k, totals.size());
  std::partial_sort(totals.begin(), totals.begin() + static_cast<std::ptrdiff_t>(n), totals.end(), ranks_before);
  totals.resize(n);
  return totals;
}

top_answer top_k(const std::vector<ranking>& lists, std::size_t k, std::size_t depth,
                 const std::function<std::uint64_t(std::uint64_t)>& total_of) {
  std::unordered_set<std::uint64_t> candidates;
  std::uint64_t unseen_max = 0;  // no non-candidate totals more
  for (const auto& l : lists) {
    const auto n = std::min(depth, l.top.size());
    for (std::size_t i = 0; i < n; ++i) candidates.insert(l.top[i].id);
    unseen_max += l.top.size() > depth ? l.top[depth].count : l.unlisted_max;
  }
  std::vector<ranked> totals;
  totals.reserve(candidates.size());
  for (auto id : candidates) totals.push_back({id, total_of(id)});
  top_answer out;
  out.top = top_of(std::move(totals), k);
  out.exact = out.top.size() == k ? out.top.back().count > unseen_max : unseen_max == 0;
  return out;
}

}  // namespace adclick
