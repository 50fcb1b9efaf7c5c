// The retention actor: deletes the dedup state (id chunks and id filters) of minutes no
// partition can count a click of any more, in the background (DESIGN 4.4).
//
// A detached actor (its own thread: LevelDB scans and compactions block). Every `interval`
// it runs a pass: steps of `step_keys` deletes (store::purge_expired_ids, which computes
// the floor from the stored watermarks and deletes only below it), each step a message to
// itself so that a stop is never kept waiting, then a compaction of the emptied range so
// that the disk space comes back. A failed pass is logged, counted and tried again at the
// next interval: nothing depends on it but the disk.
//
// Why deleting is safe: a click whose event time is more than dedup.horizon behind its
// partition's watermark is rejected as too old before dedup looks at it, watermarks are
// durable and never go back, and the floor is the lowest stored watermark's first open
// minute (window_rules::first_open_dedup_minute).
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
  std::size_t step_keys = 10'000;  ///< deletes per write
  std::shared_ptr<retention_stats> stats;
};

struct retention_state {
  store::scan_step at;
  store::purge_result pass;  ///< summed over the pass so far
  std::chrono::steady_clock::time_point pass_started;
  static inline const char* name = "adclick.retention";
};

/// Accepts tick_atom (from itself; a test may send one to run a pass now).
caf::behavior retention_actor(caf::stateful_actor<retention_state>* self, retention_config cfg);

}  // namespace adclick
