// The minute buckets of one ad, in memory, with change tracking for checkpoints.
// Pure state: no CAF, no storage. The ad actor seeds a bucket from the store the first
// time it touches it (so a restarted actor continues from the durable count), adds clicks,
// and hands the changed buckets to each checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "adclick/types.hpp"

namespace adclick {

class minute_counts {
 public:
  /// True if the bucket starting at `minute` is in memory (seeded or counted).
  bool has(std::int64_t minute) const { return buckets_.count(minute) != 0; }

  /// Puts the durable count of a bucket that is not in memory yet. Not a change.
  void seed(std::int64_t minute, std::uint64_t count);

  /// Adds `n` clicks to a bucket that is in memory (seed it first) and marks it changed.
  void add(std::int64_t minute, std::uint64_t n = 1);

  /// The count of a bucket in memory, or 0.
  std::uint64_t get(std::int64_t minute) const;

  /// The buckets changed since the previous call, with their absolute counts, in order.
  /// Absolute values make a checkpoint idempotent.
  std::vector<minute_count> take_changes();

  /// Number of buckets changed and not yet taken.
  std::size_t pending_changes() const { return changed_; }

  /// Replaces or inserts, in `points` (ordered by start, from storage), the buckets in
  /// [from_ms, to_ms) that memory knows, so the answer shows counted-but-not-yet-durable
  /// clicks. Keeps `points` ordered.
  void overlay(std::int64_t from_ms, std::int64_t to_ms, std::vector<series_point>& points) const;

  std::size_t size() const { return buckets_.size(); }

 private:
  struct bucket {
    std::uint64_t count = 0;
    bool changed = false;
  };
  std::map<std::int64_t, bucket> buckets_;
  std::size_t changed_ = 0;
};

}  // namespace adclick
