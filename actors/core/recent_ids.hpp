// The recent-id set of one ad (the design card's dedup): the click ids it has counted,
// grouped by event minute, exact on all 16 bytes.
//
// A duplicate is a republish of the same click, so it carries the same event time: ids are
// kept per minute, which makes the set cheap to trim (a whole minute at a time) and lets a
// late click consult only its own minute. Minutes inside the hot horizon stay in memory;
// older minutes are dropped from memory once their ids are durable, and come back from
// storage when a late click needs them: either all their ids (load()) or only their id
// filter (load_filter()), in which case an id the filter rules out is new without a disk
// read, and one it may contain needs one lookup in the store (insert() says so, resolve()
// takes the answer). Pure state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/types.hpp"
#include "actors/core/id_filter.hpp"
#include "actors/core/id_set.hpp"

namespace adclick {

class recent_ids {
 public:
  /// True if `minute` is in memory (counted here, or loaded from storage).
  bool has(std::int64_t minute) const { return minutes_.count(minute) != 0; }

  /// Puts the durable ids of `minute` in memory (from storage). Not a change.
  void load(std::int64_t minute, const std::vector<click_id>& ids);

  /// Puts only the durable id filter of `minute` in memory. Not a change.
  void load_filter(std::int64_t minute, id_filter filter);

  enum class insert_result { added, duplicate, need_lookup };
  /// Records `id` in `minute` (which must be in memory, or be new: see has/load).
  /// `duplicate` if it was seen before; `need_lookup` if only a filter is in memory and it
  /// may hold the id: ask the store whether it holds the id, and resolve().
  insert_result insert(std::int64_t minute, const click_id& id);
  /// The end of an insert that needed a lookup: `stored` is the store's answer.
  /// `duplicate` if stored, else the id is recorded (`added`).
  insert_result resolve(std::int64_t minute, const click_id& id, bool stored);

  /// The id filter of every id of `minute` (all ids in memory, or the loaded filter plus
  /// what was added since), serialized, to store when the minute is final.
  std::string filter(std::int64_t minute) const;

  /// The ids recorded since the last call, per minute, sorted: what the next checkpoint
  /// must persist.
  std::vector<minute_ids> take_changes();

  /// Drops the given minutes from memory, each only if its ids are all durable (taken by
  /// take_changes).
  void drop(const std::vector<std::int64_t>& minutes);

  std::size_t ids_in_memory() const;
  std::size_t memory_bytes() const;

 private:
  struct minute_set {
    id_set all;                  ///< every id known (only those added since, with a filter)
    std::vector<click_id> fresh; ///< recorded since the last take_changes
    bool filtered = false;       ///< `all` is partial: `filter` covers the stored ids
    id_filter filter;            ///< with `filtered`: the stored ids and those added since
  };
  std::map<std::int64_t, minute_set> minutes_;
};

}  // namespace adclick
