// The minute buckets of one ad, in memory, with change tracking for checkpoints.
// Pure state: no CAF, no storage. The ad actor seeds a bucket from the store the first
// time it touches it (so a restarted actor continues from the durable bucket), counts
// clicks, finalizes buckets when its partition says so, counts late clicks as amendments,
// and hands the changed buckets to each checkpoint.
//
// States (DESIGN 4.1): open (version 0) -> final (version 1) -> amended (version + 1 for
// each late click counted).
//
// It also keeps the ad's hour and day buckets (rollup.hpp) in step with every change of a
// minute, and sums how each minute's contribution moved since the last take, for the
// campaign and advertiser rollups of its partition. An hour or day is seeded from the store
// before any minute in it changes (the ad actor does it with the minute); one never seeded
// starts at zero.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

class minute_counts {
 public:
  /// True if the bucket starting at `minute` is in memory (seeded or counted).
  bool has(std::int64_t minute) const { return buckets_.count(minute) != 0; }

  /// Puts the durable value of a bucket that is not in memory yet. Not a change.
  void seed(const minute_count& stored);

  /// True if the hour or day bucket starting at `start` is in memory.
  bool has_rollup(granularity g, std::int64_t start) const;
  /// Puts the durable value of an hour or day bucket that is not in memory yet.
  void seed_rollup(granularity g, std::int64_t start, const rollup_value& stored);

  /// Counts an on-time click into `minute` and marks it changed.
  void add(std::int64_t minute);

  /// Counts a late click (its minute is final): the bucket is finalized first if it is
  /// still open here, then becomes amended with the next version.
  void add_late(std::int64_t minute);

  /// Finalizes every open bucket before `final_before`; returns how many.
  std::size_t finalize_before(std::int64_t final_before);

  /// The bucket in memory (count 0 and open if absent).
  minute_count get(std::int64_t minute) const;

  /// The buckets changed since the previous call, absolute values, in order. Absolute
  /// values make a checkpoint idempotent.
  std::vector<minute_count> take_changes();
  /// The hour and day buckets changed since the previous call, absolute values.
  std::vector<rollup_count> take_rollup_changes();
  /// How each minute's contribution moved since the previous call (only minutes whose
  /// contribution did), in order.
  std::vector<minute_change> take_moves();

  /// Replaces or inserts, in `points` (ordered by start, from storage), the buckets in
  /// [from_ms, to_ms) that memory knows, so the answer shows counted-but-not-yet-durable
  /// clicks and states. Keeps `points` ordered.
  void overlay(std::int64_t from_ms, std::int64_t to_ms, std::vector<series_point>& points) const;

  /// Like overlay(), for an ad's hour or day buckets (ordered by start).
  void overlay_rollups(granularity g, std::int64_t from_ms, std::int64_t to_ms,
                       std::vector<std::pair<std::int64_t, rollup_value>>& stored) const;

  /// Drops final or amended buckets with no change since the last take_changes: the
  /// caller knows those values are durable. Hours and days with no change since the last
  /// take_rollup_changes and no minute left in memory go too. Returns the minutes dropped.
  std::vector<std::int64_t> drop_settled();
  std::size_t rollups_in_memory() const { return hours_.size() + days_.size(); }
  /// True once drop_settled dropped anything: memory no longer holds all that was stored.
  bool dropped_any() const { return dropped_any_; }

  std::size_t size() const { return buckets_.size(); }
  /// Clicks counted in the open buckets in memory (the ids dedup answers for).
  std::uint64_t open_clicks() const;
  /// Every bucket in memory, in minute order (admin inspect).
  std::vector<minute_count> all() const;

 private:
  struct rolled {
    rollup_value value;
    bool changed = false;
  };
  struct bucket {
    minute_count value;
    bool changed = false;
    bool moved = false;        ///< its contribution moved since the last take_moves
    rollup_value moved_from;   ///< its contribution at the last take_moves (or its seed)
    rolled* hour = nullptr;    ///< its hour and day (std::map nodes: stable while it lives)
    rolled* day = nullptr;
  };
  /// The bucket of `minute`, marked changed and linked to its hour and day.
  bucket& touch(std::int64_t minute);
  /// Adds the move of `b`'s contribution from `before` to its hour and day.
  void roll(bucket& b, const rollup_value& before);
  std::map<std::int64_t, rolled>& rollups(granularity g) { return g == granularity::hour ? hours_ : days_; }
  const std::map<std::int64_t, rolled>& rollups(granularity g) const { return g == granularity::hour ? hours_ : days_; }

  std::map<std::int64_t, bucket> buckets_;
  std::size_t changed_ = 0;
  std::map<std::int64_t, rolled> hours_;
  std::map<std::int64_t, rolled> days_;
  bool dropped_any_ = false;
};

}  // namespace adclick
