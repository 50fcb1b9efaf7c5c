// The retention actor: deletes the dedup state (id chunks, runs and id filters) of minutes
// no partition can count a click of any more, and the counts past retention.minute, .hour
// and .day, in the background (DESIGN 4.4).
//
// A detached actor (its own thread: LevelDB scans and compactions block). Every `interval`
// it runs a pass: steps of `step_keys` rows of ids (store::purge_expired_ids, which
// computes each partition's floor from its stored watermark and deletes only below it),
// then steps of counts (store::purge_expired_counts, each partition's buckets before
// count_retention::retained_from of its stored watermark), then a compaction of the
// minutes whose ids it deleted, `compact_minutes` of them at a time, so that the disk
// space comes back (deleted counts are scattered over the ads' ranges: LevelDB's own
// compactions take them). Every step and every slice is a message to itself: a stop waits
// for one of them at most, and checkpoints are never behind a whole pass. A failed pass is
// logged, counted and tried again at the next interval: nothing depends on it but the disk.
//
// Why deleting is safe: a click whose event time is more than dedup.horizon behind its
// partition's watermark is rejected as too old before dedup looks at it, watermarks are
// durable and never go back, and a row goes only below its own partition's first open
// dedup minute (window_rules::first_open_dedup_minute), or for counts a retention at least
// as long as the horizon.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/types.hpp"
#include "persistence/store.hpp"

namespace adclick {

/// What the retention actor did, read by status and metrics from other threads.
class retention_stats {
 public:
  storage_status get() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return value_;
  }
  template <class F>
  void update(F&& f) {
    std::lock_guard<std::mutex> lock{mutex_};
    f(value_);
  }

 private:
  mutable std::mutex mutex_;
  storage_status value_;
};

struct retention_config {
  store* db = nullptr;
  caf::timespan interval = std::chrono::minutes(1);
  std::size_t step_keys = 10'000;      ///< rows visited per step (one write of its deletes)
  std::int64_t compact_minutes = 10;    ///< minutes of rows compacted per slice (each slice also flushes the memtable)
  count_retention counts;
  std::shared_ptr<retention_stats> stats;
};

struct retention_state {
  enum class phase { idle, purging, purging_counts, compacting };
  phase now = phase::idle;
  store::scan_step at;
  store::purge_result pass;  ///< summed over the pass so far; compaction takes its minutes
  store::count_purge_result counts;  ///< the same for counts
  std::chrono::steady_clock::time_point pass_started;
  std::int64_t compaction_ms = 0;  ///< spent compacting in this pass
  static inline const char* name = "adclick.retention";
};

/// Accepts tick_atom (every interval, from itself: starts a pass unless one runs),
/// sync_atom (a purge step of ids or counts, from itself; a test sends one to start a pass
/// now) and
/// compact_atom (a compaction slice, from itself).
caf::behavior retention_actor(caf::stateful_actor<retention_state>* self, retention_config cfg);

}  // namespace adclick
