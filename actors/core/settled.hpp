// What group_rollups and ranking_book share: entries that no checkpoint has changed for a
// while leave memory (they are in the store, and are read back if they change again).
#pragma once

#include <cstddef>
#include <cstdint>

namespace adclick {

/// Erases every entry of `entries` (a map whose values have `changed` and `last_take`)
/// that is unchanged and was last taken at least `idle_takes` takes before `takes`.
/// Returns how many were erased.
template <class Map>
std::size_t erase_settled(Map& entries, std::uint64_t takes, std::uint64_t idle_takes) {
  std::size_t n = 0;
  for (auto it = entries.begin(); it != entries.end();) {
    if (it->second.changed || takes - it->second.last_take < idle_takes) {
      ++it;
    } else {
      it = entries.erase(it);
      ++n;
    }
  }
  return n;
}

}  // namespace adclick
