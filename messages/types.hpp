// Plain value types of the adclick domain: what a click is inside the process, and every
// struct that travels between actors. No CAF and no protobuf here: this header is included
// by pure logic and tests. Each struct has a CAF 0.17-style inspect() so that CAF can
// carry it in a message (see type_ids.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <cstring>
#include <string>
#include <vector>

namespace adclick {

/// Size of a click id in bytes. Ids are compared in full (DESIGN 3.1).
constexpr std::size_t click_id_size = 16;
using click_id = std::array<std::uint8_t, click_id_size>;

/// Sequenced click ids (actors/core/id_runs): the sequences first to last of one minter.
struct id_span {
  std::uint64_t minter = 0;
  std::uint32_t first = 0, last = 0;
  std::uint64_t ids() const { return std::uint64_t{last} - first + 1; }
  friend bool operator==(const id_span& a, const id_span& b) {
    return a.minter == b.minter && a.first == b.first && a.last == b.last;
  }
};

/// A 64-bit hash of all 16 bytes of an id, for filters and shards, never for equality
/// (DESIGN 3.1). Mixed in full because ids need not be random: a sequenced id is a minter
/// and a counter. splitmix64's finalizer over both halves.
inline std::uint64_t click_id_hash(const click_id& id) {
  auto mix = [](std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  std::uint64_t a, b;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  return mix(a ^ mix(b + 0x9e3779b97f4a7c15ULL));
}

/// One click after decoding and validation.
struct click {
  click_id id{};
  std::uint64_t ad_id = 0;
  std::uint64_t campaign_id = 0;
  std::uint64_t advertiser_id = 0;
  std::int64_t event_time_ms = 0;
  std::uint32_t key_id = 0;
  /// Set by the partition: the click's minute was already final when it arrived.
  bool late = false;
};

/// Where a click (or an undecodable message) ends. Every arrival ends in exactly one.
/// Append new outcomes at the end: stored positions keep the counters in this order.
enum class outcome : std::uint8_t {
  counted,
  duplicate,
  late_amended,
  rejected_malformed,  ///< the bytes are not a ClickBatch, hold no click, or a field is missing
  rejected_bad_id,     ///< click_id is not exactly 16 bytes
  rejected_future,
  rejected_too_old,
  rejected_signature,
  rejected_wrong_partition,  ///< published on a subject other than ad_id mod partitions
};
constexpr std::size_t outcome_count = 9;
const char* to_string(outcome x);

/// Outcome counters; they add up to what arrived.
struct outcome_counters {
  std::array<std::uint64_t, outcome_count> by_outcome{};
  std::uint64_t& operator[](outcome x) { return by_outcome[static_cast<std::size_t>(x)]; }
  std::uint64_t operator[](outcome x) const { return by_outcome[static_cast<std::size_t>(x)]; }
  std::uint64_t total() const;
  outcome_counters& operator+=(const outcome_counters& other);
};

/// The event-time rules of every partition (DESIGN 4.1, 4.2). They decide how the stream
/// is judged, so they are stored with the data and a change across a restart is refused.
struct window_rules {
  std::int64_t max_out_of_orderness_ms = 5'000;
  std::int64_t allowed_lateness_ms = 10 * 60'000;
  std::int64_t dedup_horizon_ms = 60 * 60'000;
  std::int64_t max_future_skew_ms = 5 * 60'000;
  bool operator==(const window_rules& o) const {
    return max_out_of_orderness_ms == o.max_out_of_orderness_ms && allowed_lateness_ms == o.allowed_lateness_ms &&
           dedup_horizon_ms == o.dedup_horizon_ms && max_future_skew_ms == o.max_future_skew_ms;
  }
  bool operator!=(const window_rules& o) const { return !(*this == o); }

  /// A watermark before any click: nothing is final, nothing is too old.
  static constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min() / 4;
  /// The start of the first minute a partition at `watermark_ms` may still count a click
  /// of: a click is too old once its event time is more than the dedup horizon behind the
  /// watermark, so every earlier minute is wholly too old, now and (the watermark never
  /// goes back) forever. Retention deletes the ids of those minutes.
  std::int64_t first_open_dedup_minute(std::int64_t watermark_ms) const {
    const auto t = watermark_ms - dedup_horizon_ms;
    const auto m = t / 60'000 * 60'000;
    return m > t ? m - 60'000 : m;  // floor, also below zero
  }
};

enum class granularity : std::uint8_t { minute, hour, day };
const char* to_string(granularity x);
bool from_string(const std::string& text, granularity& out);

/// How long count buckets are kept behind their partition's watermark (retention.minute,
/// .hour, .day; 0 keeps them forever). Event time, like the watermark: a replay deletes the
/// same buckets. Each is at least the dedup horizon (config checks it), so a deleted bucket
/// cannot be counted into again: its clicks are too old.
struct count_retention {
  std::int64_t minute_ms = 7LL * 24 * 3'600'000;
  std::int64_t hour_ms = 90LL * 24 * 3'600'000;
  std::int64_t day_ms = 0;

  /// The first bucket of `g` kept at `watermark_ms` (every bucket before it ends at least
  /// the retention of g behind the watermark), or nullopt if all are kept. Retention
  /// deletes the buckets before it of a partition's stored watermark, and a query asking
  /// for one before it of any later watermark gets an error: watermarks never go back, so
  /// what a query is refused is a superset of what is gone.
  std::optional<std::int64_t> retained_from(granularity g, std::int64_t watermark_ms) const {
    const std::int64_t keep = g == granularity::minute ? minute_ms : g == granularity::hour ? hour_ms : day_ms;
    if (keep <= 0 || watermark_ms <= window_rules::no_watermark) return std::nullopt;
    const std::int64_t width = g == granularity::minute ? 60'000 : g == granularity::hour ? 3'600'000 : 86'400'000;
    const auto t = watermark_ms - keep;
    const auto b = t / width * width;
    return b > t ? b - width : b;  // floor, also below zero
  }
};

/// What retention of counts has deleted: per granularity, the first bucket start it kept
/// (in a partition, or the highest over partitions), no_bucket while it deleted none. It
/// is stored with the deletes and only ever raised, so a query that reads its buckets
/// first and this after knows whether any of them were gone.
struct count_floor {
  static constexpr std::int64_t no_bucket = std::numeric_limits<std::int64_t>::min();
  std::array<std::int64_t, 3> kept_from{no_bucket, no_bucket, no_bucket};  ///< by granularity
  std::int64_t of(granularity g) const { return kept_from[static_cast<std::size_t>(g)]; }
  /// Raises each granularity to `o`'s where that is higher; true if any moved.
  bool raise(const count_floor& o) {
    bool moved = false;
    for (std::size_t i = 0; i < kept_from.size(); ++i)
      if (o.kept_from[i] > kept_from[i]) {
        kept_from[i] = o.kept_from[i];
        moved = true;
      }
    return moved;
  }
  bool operator==(const count_floor& o) const { return kept_from == o.kept_from; }
};

/// What a series or a ranking is of: one ad, or every ad of a campaign or an advertiser.
enum class entity : std::uint8_t { ad, campaign, advertiser };
const char* to_string(entity x);
bool from_string(const std::string& text, entity& out);

/// One JetStream message as the ingress saw it: its clicks are
/// `ingest_batch::clicks[first_click, first_click + click_count)`, the decoder's
/// rejections `ingest_batch::rejects[first_reject, first_reject + reject_count)`.
struct fetched_message {
  std::uint64_t stream_seq = 0;
  /// When the broker stored the message (JetStream's timestamp). Clicks are judged
  /// `future` against it, not against the wall clock at delivery, so that a backlog
  /// delivered late is judged as it would have been on time, and a replay the same.
  std::int64_t publish_ms = 0;
  /// Non-zero: the message is an idle-advance marker, not clicks. The partition's
  /// watermark moves to publish_ms - idle_advance_ms when it reaches this point of the
  /// stream (see nats_ingress.hpp).
  std::int64_t idle_advance_ms = 0;
  std::uint32_t first_click = 0;
  std::uint32_t click_count = 0;
  std::uint32_t first_reject = 0;
  std::uint32_t reject_count = 0;
  /// Clicks the decoder rejected in this message (a garbage message counts as one
  /// rejected_malformed arrival: its click count is unknowable).
  outcome_counters rejected;
};

/// Input the decoder rejected, as it came: a ClickBatch of one with the rejected click, or
/// the message's own bytes when they are not a ClickBatch. Goes to the DLQ.
struct rejected_input {
  outcome reason = outcome::rejected_malformed;
  std::string bytes;
};

/// ingress -> partition actor: the decoded content of one fetch, in stream order.
struct ingest_batch {
  std::uint32_t partition = 0;
  /// What the ingress holds for it until it is durable (decoded clicks, rejects, reply
  /// subjects: ingest.max-unacked-bytes counts these).
  std::uint64_t bytes = 0;
  std::vector<fetched_message> messages;
  std::vector<click> clicks;
  std::vector<rejected_input> rejects;
};

/// partition actor -> ad actor: the clicks of one ingest batch for that ad.
struct ad_clicks {
  std::vector<click> clicks;
};

enum class bucket_state : std::uint8_t { open, final, amended };
const char* to_string(bucket_state x);

/// One minute bucket's absolute value (idempotent to write).
struct minute_count {
  std::int64_t minute_ms = 0;
  std::uint64_t count = 0;
  bucket_state state = bucket_state::open;
  std::uint32_t version = 0;  ///< 0 while open, 1 when final, +1 per amendment
};

/// A rolled-up bucket: an ad's hour or day, or one partition's share of a campaign's or an
/// advertiser's minute, hour or day. It is the sum of its minute buckets' contributions
/// (actors/core/rollup.hpp), from which its state and version follow at query time.
struct rollup_value {
  std::uint64_t count = 0;
  std::uint32_t open_minutes = 0;  ///< minute buckets in it that are open and have clicks
  std::uint32_t amendments = 0;    ///< late clicks counted into its final minutes
  bool operator==(const rollup_value& o) const {
    return count == o.count && open_minutes == o.open_minutes && amendments == o.amendments;
  }
};

/// One rolled-up bucket of an ad (hour or day), absolute.
struct rollup_count {
  granularity gran = granularity::hour;
  std::int64_t start_ms = 0;
  rollup_value value;
};

/// How one minute bucket's contribution changed since the last flush: what the campaign
/// and advertiser rollups of its partition add (counts only grow; a minute leaves `open`
/// once).
struct minute_change {
  std::int64_t minute_ms = 0;
  std::uint64_t count = 0;
  std::int32_t open_minutes = 0;
  std::uint32_t amendments = 0;
};

/// One partition's share of a campaign's or advertiser's bucket, absolute.
struct group_count {
  entity kind = entity::campaign;
  std::uint64_t id = 0;
  granularity gran = granularity::minute;
  std::int64_t start_ms = 0;
  rollup_value value;
};

/// One entry of a ranking: an ad, campaign or advertiser and its count in the bucket.
struct ranked {
  std::uint64_t id = 0;
  std::uint64_t count = 0;
};

/// One partition's ranking of the ads, campaigns or advertisers of an hour or a day: the
/// top entries exactly (count descending, then id ascending), and a bound on the count of
/// anything not listed (actors/core/ranking.hpp).
struct ranking {
  entity by = entity::ad;
  granularity gran = granularity::hour;
  std::int64_t start_ms = 0;
  std::vector<ranked> top;
  std::uint64_t unlisted_max = 0;  ///< no entity missing from `top` has a higher count
};

/// The click ids one (ad, minute) gained since the last flush, sorted: one storage chunk.
struct minute_ids {
  std::int64_t minute_ms = 0;
  std::vector<click_id> ids;
};

/// The Bloom filter of all click ids of a final (ad, minute), for late clicks.
struct minute_filter {
  std::int64_t minute_ms = 0;
  std::string bytes;
};

/// The sequenced click ids of an (ad, minute) as a runs row (recent_ids::take_runs_changes,
/// persistence/FORMAT.md), whole: each write replaces the last.
struct minute_runs {
  std::int64_t minute_ms = 0;
  std::string bytes;
};

/// ad actor -> partition actor (reply to a flush): what changed since the last flush.
/// What an ad's dedup state holds in memory (status, the steady benchmark's bytes per id):
/// the ids kept exactly, the bytes of everything it keeps (id sets, filters), and the
/// clicks counted in its open minutes, the ids that state answers for.
struct dedup_memory {
  std::uint64_t ids = 0;
  std::uint64_t bytes = 0;
  std::uint64_t open_clicks = 0;
  dedup_memory& operator+=(const dedup_memory& o) {
    ids += o.ids;
    bytes += o.bytes;
    open_clicks += o.open_clicks;
    return *this;
  }
  dedup_memory& operator-=(const dedup_memory& o) {
    ids -= o.ids;
    bytes -= o.bytes;
    open_clicks -= o.open_clicks;
    return *this;
  }
};

struct ad_delta {
  std::uint64_t ad_id = 0;
  std::vector<minute_count> minutes;  ///< changed buckets, absolute counts
  std::vector<minute_ids> ids;        ///< ids first seen since the last flush (not sequenced)
  std::vector<minute_runs> runs;      ///< the sequenced ids of minutes whose runs grew, whole
  std::uint64_t counted = 0;          ///< clicks counted since the last flush
  std::uint64_t duplicates = 0;       ///< clicks dropped as duplicates since the last flush
  std::uint64_t amended = 0;          ///< late clicks counted as amendments since the last flush
  std::vector<minute_filter> filters; ///< for buckets that became final or were amended
  std::vector<rollup_count> rollups;  ///< changed hour and day buckets, absolute
  std::vector<minute_change> changes; ///< how the changed minutes' contributions moved
  std::uint64_t campaign_id = 0;      ///< the ad's campaign and advertiser (first seen wins)
  std::uint64_t advertiser_id = 0;
  bool new_owner = false;             ///< they were first seen since the last flush: store them
  /// Clicks since the last flush whose campaign or advertiser differed from the ad's.
  std::uint64_t owner_conflicts = 0;
  dedup_memory memory;                ///< the ad's dedup state after this flush
};

/// A message for the outside world (a FinalCount for billing, a rejected click for the
/// DLQ), written in the checkpoint that decides it and published to JetStream once that
/// checkpoint is durable (the outbox). `msg_id` becomes Nats-Msg-Id, so a republish after a
/// crash is dropped by the stream.
struct outbox_message {
  enum class kind : std::uint8_t { final_count, dlq };
  kind type = kind::final_count;
  std::uint64_t seq = 0;        ///< per partition, increasing; assigned when checkpointed
  std::int64_t created_ms = 0;  ///< wall clock when checkpointed
  std::string subject;
  std::string msg_id;
  std::string reason;           ///< DLQ: the Adclick-Reason header
  std::string payload;
  /// Non-zero: the payload was cut to dlq_max_payload from this many bytes (header
  /// Adclick-Truncated-From), so that the row can always be published.
  std::uint64_t original_bytes = 0;
  /// Non-zero: written by a checkpoint that followed failed ones (since this wall-clock
  /// time). A failed write may have reached the log anyway and its rows been published
  /// since, under other seqs: the publisher first checks the stream for this id.
  std::int64_t check_since_ms = 0;
};

/// The most of a rejected message a DLQ row keeps: well below NATS's default max_payload
/// (1 MiB), which a message as it came plus headers could otherwise exceed.
constexpr std::size_t dlq_max_payload = 256 * 1024;

/// partition actor -> checkpoint writer: one atomic write of counts and stream position.
struct checkpoint {
  std::uint32_t partition = 0;
  /// Numbers the partition's checkpoints, failed attempts included (never reused, also
  /// across a rebase): the key of the id chunks it writes.
  std::uint64_t number = 0;
  std::uint64_t stream_seq = 0;
  std::int64_t stream_created_ns = 0;  ///< which stream stream_seq counts in (its creation time)
  std::int64_t watermark_ms = 0;  ///< the partition's watermark as of stream_seq
  std::int64_t last_publish_ms = 0;  ///< publish time of its last publisher message, likewise
  outcome_counters outcomes;  ///< cumulative for the partition, persisted with the position
  std::uint64_t next_outbox_seq = 0;  ///< the first outbox seq the next checkpoint may use
  std::vector<ad_delta> ads;  ///< at most one per ad
  std::vector<outbox_message> outbox;
  std::vector<group_count> groups;  ///< campaign and advertiser shares that changed, absolute
  std::vector<ranking> rankings;    ///< hour and day rankings that changed, whole
};

/// checkpoint writer -> partition actor: how a checkpoint write went. A failed write hands
/// the checkpoint back, to be carried into the next attempt (the ads' changes were taken).
struct checkpoint_result {
  bool durable = false;
  std::string error;           ///< when not durable
  std::int64_t write_ms = 0;   ///< how long the write took
  checkpoint rows;             ///< when not durable: what to carry
};

/// A query for the series of one ad, campaign or advertiser, [from_ms, to_ms) in event
/// time, aligned to whole buckets of `gran` (actors/core/query_rules.hpp checks it).
struct series_query {
  entity kind = entity::ad;
  std::uint64_t id = 0;
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  granularity gran = granularity::minute;
  /// The billing view: only durable final and amended buckets, answered from the store.
  bool billing = false;
};

struct series_point {
  std::int64_t start_ms = 0;
  std::uint64_t count = 0;
  bucket_state state = bucket_state::open;
  std::uint32_t version = 0;
};

struct series {
  entity kind = entity::ad;
  std::uint64_t id = 0;
  std::int64_t watermark_ms = 0;
  /// Start of the first minute that is not final (billing: not durably final).
  std::int64_t final_before_ms = 0;
  std::vector<series_point> points;
  /// Hour and day buckets as stored (ad actor -> partition, which turns them into points).
  std::vector<rollup_count> rolled;
};

/// A query for the top `k` ads, campaigns or advertisers by count over [from_ms, to_ms),
/// aligned to whole hours.
struct top_query {
  entity by = entity::ad;
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::uint32_t k = 10;
  bool billing = false;
};

struct top_list {
  top_query query;
  std::int64_t watermark_ms = 0;  ///< the lowest durable watermark of the partitions
  std::vector<ranked> top;        ///< in rank order: count descending, then id ascending
  std::uint32_t depth = 0;        ///< how deep into the rankings the proof had to read
  bool scanned = false;           ///< the rankings could not prove it: all rollups were summed
};

/// ad actor -> live hub: the current values of the minutes of one ad that changed since its
/// last live update (at most one per ad per live.interval).
struct live_update {
  entity kind = entity::ad;
  std::uint64_t id = 0;
  std::vector<series_point> minutes;
};

/// partition actor -> live hub, after a durable checkpoint: the campaign and advertiser
/// minutes its shares changed (the hub reads their sums back from the store) and the
/// partition's durable final_before.
struct live_touches {
  std::uint32_t partition = 0;
  std::int64_t final_before_ms = 0;
  std::vector<group_count> minutes;  ///< kind, id, start_ms name a group's minute; value unused
};

/// An ad as `adclick admin inspect` shows it: what its actor holds, or (not active) what
/// the store holds.
struct ad_status {
  std::uint64_t ad_id = 0;
  std::uint32_t partition = 0;
  bool active = false;                 ///< an actor exists for it
  bool passivated = false;             ///< no actor, but it counted clicks: answered from the store
  /// Active: the minute buckets in memory. Passivated: the stored minutes of the last two
  /// hours of the partition's event time.
  std::vector<minute_count> minutes;
  std::uint64_t ids_in_memory = 0;
  std::uint64_t id_bytes = 0;          ///< their memory
  std::uint64_t ids_on_disk = 0;       ///< every stored id of the ad, all minutes
  std::uint64_t id_minutes_on_disk = 0;
  bool ids_on_disk_complete = true;    ///< false: counting stopped at a limit (at least this many)
  /// Decided by this actor since it started (an active ad only).
  std::uint64_t counted = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t amended = 0;
  std::uint64_t mailbox = 0;           ///< click batches waiting in its mailbox
  std::uint64_t batches_handled = 0;   ///< click batches it handled since it started
  std::int64_t idle_ms = -1;           ///< since its last click, finalize or query; -1 not active
  double clicks_per_s = 0;             ///< recent rate (actors/core/rate_meter.hpp)
  std::uint64_t live_pending = 0;      ///< minutes changed and not yet sent as a live update
  std::uint64_t campaign_id = 0;
  std::uint64_t advertiser_id = 0;
  std::uint32_t split_children = 0;    ///< hot-ad split: child actors (0: not split)
};

/// One of the ads with the highest recent click rate (admin hot).
struct hot_ad {
  std::uint64_t ad_id = 0;
  std::uint32_t partition = 0;
  double clicks_per_s = 0;
};

/// A checkpoint an operator asked for (admin checkpoint): durable, or why not.
struct checkpoint_report {
  std::uint32_t partition = 0;
  std::uint64_t durable_seq = 0;    ///< everything dispatched up to here is durable
  std::int64_t write_ms = 0;        ///< how long its write took (0: nothing to write)
  bool wrote = false;               ///< false: everything dispatched was durable already
};

/// What admin passivate did to an ad.
struct passivate_report {
  std::uint64_t ad_id = 0;
  std::uint32_t partition = 0;
  bool was_active = false;          ///< false: it had no actor (nothing to do)
  std::uint64_t durable_seq = 0;    ///< its state is durable up to here
};

/// Observations in fixed buckets, as Prometheus histograms count them: counts[i] is the
/// number of observations <= bounds[i] (not cumulative here), the last one +Inf.
struct histogram_counts {
  std::vector<std::uint64_t> counts;
  double sum = 0;
  std::uint64_t total = 0;
  /// Counts `v` with `bounds` (ascending; counts gets bounds.size() + 1 slots).
  void observe(double v, const std::vector<double>& bounds);
};

/// Seconds a checkpoint write takes: the bounds of its histogram.
const std::vector<double>& checkpoint_seconds_bounds();

/// What a partition reports about itself (admin status, readiness, benchmarks).
struct partition_status {
  std::uint32_t partition = 0;
  bool recovered = false;
  std::uint64_t dispatched_seq = 0;  ///< last stream sequence handed to ad actors
  std::uint64_t durable_seq = 0;     ///< last stream sequence in a durable checkpoint
  std::int64_t stream_created_ns = 0;
  std::uint64_t active_ads = 0;
  std::uint64_t passivated = 0;  ///< ad actors stopped while idle, since start
  std::uint64_t passivated_over_limit = 0;  ///< of them, stopped early: above max_active_ads
  std::uint64_t checkpoints = 0;
  std::uint64_t checkpoint_failures = 0;  ///< since start
  std::int64_t failing_since_ms = 0;      ///< wall clock of the first failure of a run; 0: last one succeeded
  std::string last_checkpoint_error;
  /// Wall clock when everything dispatched was last known durable (a checkpoint succeeded
  /// or there was nothing to write). Its age is how stale the store may be.
  std::int64_t durable_at_ms = 0;
  std::int64_t last_checkpoint_ms = 0;    ///< duration of the last successful write
  std::int64_t in_flight_since_ms = 0;    ///< a checkpoint write started then; 0: none
  outcome_counters outcomes;         ///< cumulative, including what was recovered
  outcome_counters durable_outcomes; ///< as of the last durable checkpoint: never goes back
  std::uint64_t undecided = 0;       ///< clicks dispatched whose outcome is not yet reported
  std::int64_t watermark_ms = 0;
  /// The first minute that is not final as of the last durable checkpoint: what the
  /// store's campaign, advertiser and ranking rows are final before.
  std::int64_t durable_final_before_ms = 0;
  std::uint64_t owner_conflicts = 0;  ///< clicks naming another campaign or advertiser than their ad's
  std::uint64_t outbox_pending = 0;  ///< DLQ rows waiting for the next checkpoint
  std::uint64_t carried = 0;         ///< ad deltas of a failed checkpoint waiting for the next
  std::uint64_t mailbox = 0;         ///< ingest batches waiting in the partition actor's mailbox
  /// Since start: stream messages and clicks handed on (their ratio estimates the clicks in
  /// messages not yet read).
  std::uint64_t messages_dispatched = 0;
  std::uint64_t clicks_dispatched = 0;
  histogram_counts checkpoint_seconds;  ///< durable writes (checkpoint_seconds_bounds)
  dedup_memory dedup;                   ///< of its active ads, as of their last flushes
};

/// What an ingress thread reports (status, readiness); it lives outside the actor system.
struct ingress_status {
  std::uint32_t partition = 0;
  bool running = false;         ///< bound and fetching
  std::string halted;           ///< why it does not read (empty: it does or will)
  std::uint64_t fetched = 0;    ///< JetStream messages fetched
  std::uint64_t acked = 0;      ///< of those, acked after a durable checkpoint
  std::uint64_t unacked = 0;    ///< forwarded and not yet acked
  std::uint64_t unacked_bytes = 0;  ///< their decoded clicks (ingest.max-unacked-bytes bounds it)
  std::uint64_t gaps = 0;       ///< lost deliveries detected (each followed by a re-bind)
  std::uint64_t consumer_recreated = 0;  ///< the consumer was found missing and recreated
  std::uint64_t missing = 0;    ///< stream sequences removed before this partition read them (an upper bound)
  std::uint64_t markers = 0;    ///< idle-advance markers published
  std::uint64_t last_forwarded = 0;
  /// Messages of its subject in the stream not yet delivered to it, as of its last fetch
  /// (JetStream's NumPending); with `unacked`, how far the partition is behind the stream.
  std::uint64_t pending = 0;
};

/// What the outbox publisher reports.
struct outbox_status {
  std::uint64_t published = 0;     ///< rows published and removed since start
  std::uint64_t skipped = 0;       ///< rows found already in their stream at start
  std::uint64_t failures = 0;      ///< batches that had to be published again
  bool scanned = false;            ///< the start-up check is done
  std::string last_error;
};

/// The store as the service reports it: retention of the dedup state
/// (actors/retention_actor) and LevelDB's estimate of its size by kind of row.
struct storage_status {
  /// Minutes before this hold no dedup state any more: the lowest partition's floor (each
  /// partition's rows go by its own). no_watermark: no retention pass has found one yet.
  std::int64_t dedup_floor_ms = window_rules::no_watermark;
  std::uint32_t floor_held_by = 0;    ///< the partition with that lowest floor
  std::uint64_t purged_keys = 0;      ///< id chunks, runs and filters deleted since start
  std::uint64_t purged_bytes = 0;     ///< their keys and values
  std::uint64_t passes = 0;           ///< retention passes completed since start
  std::uint64_t failures = 0;         ///< passes that failed (retried at the next interval)
  std::int64_t last_pass_ms = 0;      ///< how long the last pass took, deletes and compaction
  std::int64_t last_compaction_ms = 0;
  std::string last_error;
  std::uint64_t ids_bytes = 0;        ///< on disk: id chunks
  std::uint64_t filters_bytes = 0;    ///< id filters
  std::uint64_t runs_bytes = 0;       ///< runs rows (sequenced ids)
  std::uint64_t counts_bytes = 0;     ///< minute, hour and day buckets, and their expiry rows
  std::uint64_t rollups_bytes = 0;    ///< group shares and rankings
  std::uint64_t total_bytes = 0;      ///< every row
  /// Retention of counts: minute buckets before this are deleted or about to be (the
  /// lowest partition's first kept minute); no_watermark while none is known.
  std::int64_t minutes_kept_from_ms = window_rules::no_watermark;
  std::uint64_t purged_count_keys = 0;  ///< count rows, their expiry rows, group shares and rankings deleted
};

// -- CAF 0.17 inspectors ------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome_counters& x) {
  return f(x.by_outcome);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, click& x) {
  return f(x.id, x.ad_id, x.campaign_id, x.advertiser_id, x.event_time_ms, x.key_id, x.late);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetched_message& x) {
  return f(x.stream_seq, x.publish_ms, x.idle_advance_ms, x.first_click, x.click_count, x.first_reject,
           x.reject_count, x.rejected);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejected_input& x) {
  return f(x.reason, x.bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_batch& x) {
  return f(x.partition, x.bytes, x.messages, x.clicks, x.rejects);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ad_clicks& x) {
  return f(x.clicks);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, minute_count& x) {
  return f(x.minute_ms, x.count, x.state, x.version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, minute_ids& x) {
  return f(x.minute_ms, x.ids);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, minute_filter& x) {
  return f(x.minute_ms, x.bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, minute_runs& x) {
  return f(x.minute_ms, x.bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rollup_value& x) {
  return f(x.count, x.open_minutes, x.amendments);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rollup_count& x) {
  return f(x.gran, x.start_ms, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, minute_change& x) {
  return f(x.minute_ms, x.count, x.open_minutes, x.amendments);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_count& x) {
  return f(x.kind, x.id, x.gran, x.start_ms, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ranked& x) {
  return f(x.id, x.count);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ranking& x) {
  return f(x.by, x.gran, x.start_ms, x.top, x.unlisted_max);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dedup_memory& x) {
  return f(x.ids, x.bytes, x.open_clicks);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ad_delta& x) {
  return f(x.ad_id, x.minutes, x.ids, x.runs, x.counted, x.duplicates, x.amended, x.filters, x.rollups, x.changes,
           x.campaign_id, x.advertiser_id, x.new_owner, x.owner_conflicts, x.memory);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_message& x) {
  return f(x.type, x.seq, x.created_ms, x.subject, x.msg_id, x.reason, x.payload, x.original_bytes,
           x.check_since_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint& x) {
  return f(x.partition, x.number, x.stream_seq, x.stream_created_ns, x.watermark_ms, x.last_publish_ms, x.outcomes,
           x.next_outbox_seq, x.ads, x.outbox, x.groups, x.rankings);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_result& x) {
  return f(x.durable, x.error, x.write_ms, x.rows);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_query& x) {
  return f(x.kind, x.id, x.from_ms, x.to_ms, x.gran, x.billing);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, top_query& x) {
  return f(x.by, x.from_ms, x.to_ms, x.k, x.billing);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, top_list& x) {
  return f(x.query, x.watermark_ms, x.top, x.depth, x.scanned);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_point& x) {
  return f(x.start_ms, x.count, x.state, x.version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series& x) {
  return f(x.kind, x.id, x.watermark_ms, x.final_before_ms, x.points, x.rolled);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, live_update& x) {
  return f(x.kind, x.id, x.minutes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, live_touches& x) {
  return f(x.partition, x.final_before_ms, x.minutes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ad_status& x) {
  return f(x.ad_id, x.partition, x.active, x.passivated, x.minutes, x.ids_in_memory, x.id_bytes, x.ids_on_disk,
           x.id_minutes_on_disk, x.ids_on_disk_complete, x.counted, x.duplicates, x.amended, x.mailbox, x.batches_handled, x.idle_ms, x.clicks_per_s,
           x.live_pending, x.campaign_id, x.advertiser_id, x.split_children);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hot_ad& x) {
  return f(x.ad_id, x.partition, x.clicks_per_s);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_report& x) {
  return f(x.partition, x.durable_seq, x.write_ms, x.wrote);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, passivate_report& x) {
  return f(x.ad_id, x.partition, x.was_active, x.durable_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, histogram_counts& x) {
  return f(x.counts, x.sum, x.total);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_status& x) {
  return f(x.partition, x.recovered, x.dispatched_seq, x.durable_seq, x.stream_created_ns, x.active_ads,
           x.passivated, x.passivated_over_limit, x.checkpoints, x.checkpoint_failures, x.failing_since_ms, x.last_checkpoint_error,
           x.durable_at_ms, x.last_checkpoint_ms, x.in_flight_since_ms, x.outcomes, x.undecided, x.watermark_ms,
           x.durable_final_before_ms, x.owner_conflicts, x.outbox_pending, x.carried, x.mailbox, x.durable_outcomes,
           x.messages_dispatched, x.clicks_dispatched, x.checkpoint_seconds, x.dedup);
}

}  // namespace adclick
