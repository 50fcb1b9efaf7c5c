// The partition actor: one per owned partition. It is where the exactly-once argument
// lives (docs/ARCHITECTURE.md): it orders the stream, cuts consistent checkpoints and
// decides when messages may be acked.
//
// Accepts:
//   ingest_batch   (from its NATS ingress thread) -> no reply. Skips messages at or below
//                  the dispatched position (redeliveries), applies idle-advance markers,
//                  rejects clicks of other partitions, too old and future ones (each
//                  becomes a DLQ row of the next checkpoint), groups the rest by ad and
//                  sends each ad actor one ad_clicks, spawning ad actors on first click.
//   tick_atom      (from itself, every checkpoint.interval) -> no reply. Passivates idle
//                  ads, starts a checkpoint (unless backing off after failures).
//   checkpoint_atom (from the service at shutdown) -> no reply. Starts a checkpoint now.
//   sync_atom      (admin checkpoint, from the gateway) -> checkpoint_report once a
//                  checkpoint that started after the request is durable (at once if
//                  everything dispatched is durable already); errc::storage if it fails.
//   passivate_atom, ad (admin passivate) -> passivate_report once the ad's actor is
//                  stopped with its state durable (a checkpoint is forced first; an ad
//                  that keeps changing across 5 checkpoints is refused, errc::busy);
//                  errc::not_found for an ad that never counted a click.
//   hot_atom, k    (admin hot) -> std::vector<hot_ad>: the k active ads with the highest
//                  recent click rate, highest first.
//   live_atom      (from itself, every live.interval, when there is a live hub) -> no
//                  reply. Asks each ad changed since the last one to send the hub its
//                  changed minutes. After each durable checkpoint the hub also gets the
//                  campaign and advertiser minutes it changed (live_touches).
//   rebase_atom, created_ns (from its ingress) -> no reply. The stream was recreated (or
//                  this partition never saw one): positions count in the stream created
//                  at `created_ns` from now on, starting before its first message. Once
//                  applied, ack_cursor::stream_created_ns says so.
//   inspect_atom, ad -> ad_status (from the gateway or tests): the ad actor's state with
//                  its recent rate and idle time, or for an ad with no actor its stored
//                  minutes and ids (passivated); errc::not_found if it never counted.
//   series_query   (from the gateway actor, kind ad) -> series. Live: routed to the ad
//                  actor if active (stored buckets overlaid with memory), else answered
//                  from the store. Billing: answered from the store only, so that a bucket
//                  final in memory but not yet durable is never billed. errc::not_found
//                  for an ad that never counted a click.
//   status_atom    (from the gateway actor) -> partition_status.
// Recovery: the stored position is read at spawn, then the index of open buckets in steps
// (recover_atom to itself). Until it is complete the partition answers status_atom
// (recovered false), refuses series_query and inspect_atom with errc::recovering (503 with
// Retry-After at the doors, never a count that is not loaded yet), and ignores
// checkpoint_atom; its ingress fetches nothing until ack_cursor::ready.
// Passivation: an ad idle for idle_timeout is stopped only when all its state is durable
// (no change since its last flush, no checkpoint in flight, none left to carry); a click,
// a finalize or a query later finds it in the store.
// After each batch, every ad with an open bucket before the watermark's final_before gets
// (finalize_atom, minute).
// Checkpoint: flush_atom to every ad that changed (FIFO makes each reply the state as of
// the dispatched position), then one checkpoint to the writer with at most one delta per
// ad (a failed attempt's rows are merged in) and the outbox rows (DLQ rows of the messages
// taken, FinalCount rows of buckets that became final or were amended); when it is
// durable, ack_cursor::durable_seq advances and the ingress acks up to it. The checkpoint
// also carries the campaign and advertiser shares the flushes moved (group_rollups) and the
// hour and day rankings they changed (ranking_book), so that stored rollups always match
// the stored minutes. A failed write
// acks nothing and is retried with backoff (interval x 2^n, at most 30 s).
#pragma once

#include <cstdint>
#include <functional>
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
#include "actors/core/click_grouping.hpp"
#include "actors/core/event_clock.hpp"
#include "actors/core/group_rollups.hpp"
#include "actors/core/idle_order.hpp"
#include "actors/core/rate_meter.hpp"
#include "actors/core/ranking.hpp"
#include "common/log_limiter.hpp"
#include "messages/subjects.hpp"
#include "messages/types.hpp"
#include "persistence/store.hpp"

namespace adclick {

struct partition_config {
  std::uint32_t partition = 0;
  std::uint32_t partitions = 16;           ///< partitions.count: which ads belong here
  store* db = nullptr;
  caf::actor writer;                       ///< the checkpoint_writer
  std::shared_ptr<ack_cursor> cursor;      ///< shared with the ingress thread
  caf::timespan checkpoint_interval = std::chrono::seconds(1);
  std::uint32_t checkpoint_max_pending = 4096;
  /// Checkpoint sooner also when this many bytes (ingest_batch::bytes, as the ingress
  /// counts them) were taken since the last checkpoint started: half the ingress's
  /// ingest.max-unacked-bytes, so that it seldom waits for room. Counted as taken, not as
  /// held: a checkpoint releases only what was taken before it, and a backlog queued in
  /// the mailbox must not make checkpoints run back to back. 0: no such trigger.
  std::uint64_t checkpoint_max_pending_bytes = 0;
  window_rules rules;
  count_retention retention;  ///< a query before what it keeps is refused
  subjects names;                          ///< subjects of FinalCount and DLQ rows
  /// An ad actor with nothing to do for this long is stopped once its state is durable.
  caf::timespan idle_timeout = std::chrono::minutes(5);
  /// At most this many ad actors (0: no limit). Above it, the longest idle of those whose
  /// state is durable are stopped before their idle_timeout, down to 7/8 of it; a click or
  /// a finalize later finds them in the store, like any passivated ad.
  std::size_t max_active_ads = 0;
  /// Where live updates go (the live hub), or none; and how often each changed ad sends one.
  caf::actor live_hub;
  caf::timespan live_interval = std::chrono::milliseconds(250);
  /// Which changed ads the hub wants updates of (someone watches them); empty: all of them
  /// (live.nats publishes every changed ad).
  std::function<bool(std::uint64_t ad_id)> live_wants;
};

struct partition_state {
  /// An active ad; linked into `idle` by its last activity.
  struct ad_ref : idle_hook {
    std::uint64_t ad_id = 0;
    caf::actor handle;
    bool changed = false;  ///< received clicks or a finalize since the last flush
    bool live = false;     ///< likewise since the last live tick
    caf::actor_clock::time_point last_active;
    rate_meter rate;       ///< its recent clicks per second (admin hot)
    std::uint64_t batches_sent = 0;  ///< ad_clicks sent to it (its mailbox: these minus those it handled)
    dedup_memory memory;             ///< its dedup state as of its last flush
  };
  /// An operator waiting for a checkpoint (admin checkpoint): answered by the first durable
  /// checkpoint numbered `first` or later (it started after the request, so it covers
  /// everything dispatched then).
  struct sync_waiter {
    std::uint64_t first = 0;
    caf::typed_response_promise<checkpoint_report> rp;
  };
  /// An operator waiting for an ad to be passivated once its state is durable.
  struct passivate_waiter {
    std::uint64_t ad_id = 0;
    int checkpoints_seen = 0;  ///< durable checkpoints after which the ad was still changing
    caf::typed_response_promise<passivate_report> rp;
  };

  partition_state() = default;
  partition_state(const partition_state&) = delete;
  partition_state& operator=(const partition_state&) = delete;
  /// Stops the ad actors (they are monitored, not linked: nothing else would).
  ~partition_state();

  partition_config cfg;
  std::unordered_map<std::uint64_t, ad_ref> ads;
  idle_order idle;  ///< the active ads, from the longest idle (passivate_idle starts there)
  std::vector<std::uint64_t> changed_ads;
  std::vector<std::uint64_t> live_ads;  ///< ads changed since the last live tick
  grouped_batch scratch;
  event_clock clock{window_rules{}};
  /// Open buckets by minute: whom to finalize when the watermark passes. Persisted as
  /// open markers in each checkpoint and reloaded on recovery.
  std::map<std::int64_t, std::unordered_set<std::uint64_t>> open_index;

  std::int64_t stream_created_ns = 0; ///< the stream the sequences below count in
  std::uint64_t dispatched_seq = 0;   ///< highest stream sequence handed to ad actors
  std::uint64_t durable_seq = 0;      ///< highest stream sequence in a durable checkpoint
  std::int64_t durable_created_ns = 0;
  std::int64_t durable_watermark_ms = event_clock::no_watermark;
  /// Cumulative outcomes: rejections up to dispatched_seq, counted/duplicate/amended as
  /// reported by flushes.
  outcome_counters outcomes;
  /// Clicks handed to ad actors whose outcome no flush has reported yet.
  std::uint64_t undecided = 0;
  std::uint64_t pending_messages = 0; ///< messages taken since the last checkpoint started
  std::uint64_t pending_bytes = 0;    ///< their ingest_batch::bytes
  std::uint64_t next_outbox_seq = 0;
  std::uint64_t next_checkpoint = 0;  ///< the number of the next checkpoint attempt
  /// DLQ rows of the messages taken since the last checkpoint started.
  std::vector<outbox_message> dlq;
  std::uint64_t passivated = 0;
  std::uint64_t passivated_over_limit = 0;  ///< of them, stopped early for max_active_ads
  dedup_memory dedup;  ///< the sum of the active ads' ad_ref::memory
  std::uint64_t messages_dispatched = 0;  ///< since start (status: clicks per message)
  std::uint64_t batches_handled = 0;      ///< ingest_batch messages (mailbox: ack_cursor::batches_sent minus these)
  std::uint64_t clicks_dispatched = 0;
  std::vector<sync_waiter> sync_waiters;
  std::vector<passivate_waiter> passivate_waiters;
  bool recovered = false;
  store::scan_step recovery;  ///< how far the open index has been read back

  // The checkpoint being assembled (at most one at a time, so writes stay in order).
  bool checkpointing = false;
  checkpoint building;
  std::unordered_map<std::uint64_t, std::size_t> building_index;  ///< ad -> building.ads slot
  std::size_t awaiting_flushes = 0;
  /// The rows of a checkpoint whose write failed, carried into the next one.
  std::vector<ad_delta> carried;
  std::vector<outbox_message> carried_dlq;
  std::vector<group_count> carried_groups;
  std::vector<ranking> carried_rankings;

  /// This partition's shares of its campaigns and advertisers, fed by the ads' minute
  /// moves as flushes arrive, and its rankings of hours and days, fed by each checkpoint's
  /// ad and group buckets.
  group_rollups groups;
  ranking_book rankings;
  std::uint64_t owner_conflicts = 0;
  /// The partition started on an empty store and has forgotten no share (ranking) since:
  /// one not in memory is empty and needs no read.
  bool fresh_groups = false;
  bool fresh_rankings = false;
  std::int64_t durable_final_before_ms = 0;
  /// A rebase that arrived while a checkpoint was in flight.
  std::int64_t pending_rebase_ns = 0;

  // Checkpoint health (status, readiness).
  std::uint64_t checkpoints = 0;
  std::uint64_t checkpoint_failures = 0;
  std::uint32_t consecutive_failures = 0;
  std::int64_t failing_since_ms = 0;
  std::string last_error;
  std::int64_t durable_at_ms = 0;
  std::int64_t last_write_ms = 0;
  std::int64_t in_flight_since_ms = 0;
  histogram_counts checkpoint_seconds;  ///< durable writes
  /// The outcomes as of the last durable checkpoint: they never go back, also across a
  /// crash (the metrics' counters).
  outcome_counters durable_outcomes;
  caf::actor_clock::time_point last_idle_sweep{};
  caf::actor_clock::time_point retry_at{};  ///< no new attempt before this after a failure
  log_limiter failure_log{10'000};

  static inline const char* name = "adclick.partition";
};

caf::behavior partition_actor(caf::stateful_actor<partition_state>* self, partition_config cfg);

/// Stops `a` (exit reason user_shutdown) before it handles anything already in its
/// mailbox, which is dropped. For shutdown, and for a partition's ads when it stops:
/// whatever they still had queued is not durable, so it was not acked and comes again.
void stop_at_once(const caf::actor& a);

}  // namespace adclick
