#include "actors/core/group_rollups.hpp"

#include "actors/core/rollup.hpp"

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
  for (std::size_t i = 0; i < n; ++i) {
    if (shares_.count(keys[i]) != 0) continue;
    auto stored = seed(keys[i]);
    if (!stored) return false;
    shares_.emplace(keys[i], share{*stored, false});
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = shares_[keys[i]];
    add_change(s.value, move);
    s.changed = true;
  }
  return true;
}

std::vector<group_count> group_rollups::take_changes() {
  ++takes_;
  std::vector<group_count> out;
  for (auto& [k, s] : shares_) {
    if (!s.changed) continue;
    out.push_back({k.kind, k.id, k.gran, k.start_ms, s.value});
    s.changed = false;
    s.last_take = takes_;
  }
  return out;
}

void group_rollups::drop_settled(std::uint64_t idle_takes) {
  for (auto it = shares_.begin(); it != shares_.end();) {
    if (it->second.changed || takes_ - it->second.last_take < idle_takes) ++it;
    else it = shares_.erase(it);
  }
}

}  // namespace adclick
