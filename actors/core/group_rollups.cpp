#include "actors/core/group_rollups.hpp"

#include "actors/core/rollup.hpp"
#include "actors/core/settled.hpp"

#include <algorithm>
#include <tuple>

namespace adclick {

bool group_rollups::apply(std::uint64_t campaign_id, std::uint64_t advertiser_id, const minute_change& move,
                          const seed_fn& seed) {
  key keys[6];
  std::size_t n = 0;
  for (auto [kind, id] : {std::pair{entity::campaign, campaign_id}, std::pair{entity::advertiser, advertiser_id}}) {
    if (id == 0) continue;
    for (auto g : {granularity::minute, granularity::hour, granularity::day})
      keys[n++] = key{kind, id, g, bucket_start(move.minute_ms, bucket_width(g))};
  }
  // Seed first, so that a failed read leaves every share as it was.
  std::pair<const key, share>* found[6];
  for (std::size_t i = 0; i < n; ++i) {
    auto it = shares_.find(keys[i]);
    if (it == shares_.end()) {
      auto stored = seed(keys[i]);
      if (!stored) return false;
      it = shares_.emplace(keys[i], share{*stored, false, takes_}).first;
    }
    found[i] = &*it;
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = found[i]->second;
    add_change(s.value, move);
    if (!s.changed) {
      s.changed = true;
      changed_.push_back(found[i]);
    }
  }
  return true;
}

std::vector<group_count> group_rollups::take_changes() {
  ++takes_;
  std::vector<group_count> out;
  out.reserve(changed_.size());
  for (auto* entry : changed_) {
    const auto& k = entry->first;
    auto& s = entry->second;
    out.push_back({k.kind, k.id, k.gran, k.start_ms, s.value});
    s.changed = false;
    s.last_take = takes_;
  }
  changed_.clear();
  std::sort(out.begin(), out.end(), [](const group_count& a, const group_count& b) {
    return std::tie(a.kind, a.id, a.gran, a.start_ms) < std::tie(b.kind, b.id, b.gran, b.start_ms);
  });
  return out;
}

std::size_t group_rollups::drop_settled(std::uint64_t idle_takes) { return erase_settled(shares_, takes_, idle_takes); }

}  // namespace adclick
