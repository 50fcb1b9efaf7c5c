// The partition actor: one per owned partition. It is where the exactly-once argument
// lives (docs/ARCHITECTURE.md): it orders the stream, cuts consistent checkpoints and
// decides when messages may be acked.
//
// Accepts:
//   ingest_batch   (from its NATS ingress thread) -> no reply. Skips messages at or below
//                  the dispatched position (redeliveries), groups clicks by ad, sends each
//                  ad actor one ad_clicks, spawning ad actors on first click.
//   tick_atom      (from itself, every checkpoint.interval) -> no reply. Advances an idle
//                  watermark, passivates idle ads, starts a checkpoint.
//   checkpoint_atom (from the service at shutdown) -> no reply. Starts a checkpoint now.
//   inspect_atom, ad -> ad_status (from the gateway or tests).
// Passivation: an ad idle for idle_timeout is stopped only when all its state is durable
// (no change since its last flush, no checkpoint in flight, none left to carry); a click,
// a finalize or a query later finds it in the store.
// After each batch and tick, every ad with an open bucket before the watermark's
// final_before gets (finalize_atom, minute).
//   series_query   (from the gateway actor) -> series. Routed to the ad actor if active,
//                  otherwise answered from the store.
//   status_atom    (from the gateway actor) -> partition_status.
// Rejected clicks (future, too_old) go to the egress's DLQ as they are dispatched (at least
// once: a replay after a crash sends them again); the checkpoint writer publishes final
// and amended buckets once the checkpoint holding them is durable.
// Checkpoint: flush_atom to every ad that changed (FIFO makes each reply the state as of
// the dispatched position), then one checkpoint to the writer; when it is durable,
// ack_cursor::durable_seq advances and the ingress acks up to it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/timespan.hpp>

#include "actors/ack_cursor.hpp"
#include "messages/types.hpp"
#include "actors/core/click_grouping.hpp"
#include "actors/egress.hpp"
#include "actors/core/event_clock.hpp"

namespace adclick {

class store;

struct partition_config {
  std::uint32_t partition = 0;
  store* db = nullptr;
  caf::actor writer;                       ///< the checkpoint_writer
  std::shared_ptr<ack_cursor> cursor;      ///< shared with the ingress thread
  caf::timespan checkpoint_interval = std::chrono::seconds(1);
  std::uint32_t checkpoint_max_pending = 4096;
  window_rules rules;
  /// An idle partition's watermark follows wall clock minus this; zero turns it off.
  caf::timespan idle_advance = std::chrono::seconds(30);
  /// Where rejected clicks go (may be null: nowhere). Final buckets go through the writer.
  egress* out = nullptr;
  /// An ad actor with nothing to do for this long is stopped once its state is durable.
  caf::timespan idle_timeout = std::chrono::minutes(5);
};

struct partition_state {
  struct ad_ref {
    caf::actor handle;
    bool changed = false;  ///< received clicks or a finalize since the last flush
    caf::actor_clock::time_point last_active;
  };

  partition_config cfg;
  std::unordered_map<std::uint64_t, ad_ref> ads;
  std::vector<std::uint64_t> changed_ads;
  grouped_batch scratch;
  event_clock clock{window_rules{}};
  /// Open buckets by minute: whom to finalize when the watermark passes. Persisted as
  /// open markers in each checkpoint and reloaded on recovery.
  std::map<std::int64_t, std::unordered_set<std::uint64_t>> open_index;
  std::int64_t last_click_wall_ms = 0;

  std::uint64_t dispatched_seq = 0;   ///< highest stream sequence handed to ad actors
  std::uint64_t durable_seq = 0;      ///< highest stream sequence in a durable checkpoint
  /// Cumulative outcomes: decoder rejections up to dispatched_seq, counted/duplicate as
  /// reported by flushes.
  outcome_counters outcomes;
  /// Clicks handed to ad actors whose outcome no flush has reported yet.
  std::uint64_t undecided = 0;
  std::uint64_t pending_messages = 0; ///< messages taken since the last checkpoint started
  std::uint64_t checkpoints = 0;
  std::uint64_t passivated = 0;
  bool recovered = false;

  // The checkpoint being assembled (at most one at a time, so writes stay in order).
  bool checkpointing = false;
  checkpoint building;
  std::size_t awaiting_flushes = 0;
  /// Buckets of a checkpoint whose write failed: carried into the next one.
  std::vector<ad_delta> carried;

  static inline const char* name = "adclick.partition";
};

caf::behavior partition_actor(caf::stateful_actor<partition_state>* self, partition_config cfg);

}  // namespace adclick
