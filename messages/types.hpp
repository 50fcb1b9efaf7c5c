// Plain value types of the adclick domain: what a click is inside the process, and every
// struct that travels between actors. No CAF and no protobuf here: this header is included
// by pure logic and tests. Each struct has a CAF 0.17-style inspect() so that CAF can
// carry it in a message (see type_ids.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace adclick {

/// Size of a click id in bytes. Ids are compared in full (DESIGN 3.1).
constexpr std::size_t click_id_size = 16;
using click_id = std::array<std::uint8_t, click_id_size>;

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
enum class outcome : std::uint8_t {
  counted,
  duplicate,
  late_amended,
  rejected_malformed,  ///< the bytes are not a ClickBatch, or a field is missing
  rejected_bad_id,     ///< click_id is not exactly 16 bytes
  rejected_future,
  rejected_too_old,
  rejected_signature,
};
constexpr std::size_t outcome_count = 8;
const char* to_string(outcome x);

/// Outcome counters; they add up to what arrived.
struct outcome_counters {
  std::array<std::uint64_t, outcome_count> by_outcome{};
  std::uint64_t& operator[](outcome x) { return by_outcome[static_cast<std::size_t>(x)]; }
  std::uint64_t operator[](outcome x) const { return by_outcome[static_cast<std::size_t>(x)]; }
  std::uint64_t total() const;
  outcome_counters& operator+=(const outcome_counters& other);
};

enum class granularity : std::uint8_t { minute, hour, day };
const char* to_string(granularity x);
bool from_string(const std::string& text, granularity& out);

/// One JetStream message as the ingress saw it: its clicks are
/// `ingest_batch::clicks[first_click, first_click + click_count)`.
struct fetched_message {
  std::uint64_t stream_seq = 0;
  std::uint32_t first_click = 0;
  std::uint32_t click_count = 0;
  /// Clicks the decoder rejected in this message (a garbage message counts as one
  /// rejected_malformed arrival: its click count is unknowable).
  outcome_counters rejected;
};

/// ingress -> partition actor: the decoded content of one fetch, in stream order.
struct ingest_batch {
  std::uint32_t partition = 0;
  std::vector<fetched_message> messages;
  std::vector<click> clicks;
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

/// ad actor -> partition actor (reply to a flush): what changed since the last flush.
struct ad_delta {
  std::uint64_t ad_id = 0;
  std::vector<minute_count> minutes;  ///< changed buckets, absolute counts
  std::vector<minute_ids> ids;        ///< ids first seen since the last flush
  std::uint64_t counted = 0;          ///< clicks counted since the last flush
  std::uint64_t duplicates = 0;       ///< clicks dropped as duplicates since the last flush
  std::uint64_t amended = 0;          ///< late clicks counted as amendments since the last flush
  std::vector<minute_filter> filters; ///< for buckets that became final or were amended
};

/// partition actor -> checkpoint writer: one atomic write of counts and stream position.
struct checkpoint {
  std::uint32_t partition = 0;
  std::uint64_t stream_seq = 0;
  std::int64_t watermark_ms = 0;  ///< the partition's watermark as of stream_seq
  outcome_counters outcomes;  ///< cumulative for the partition, persisted with the position
  std::vector<ad_delta> ads;
};

/// checkpoint writer -> partition actor: how a checkpoint write went. A failed write hands
/// its buckets back, to be carried into the next attempt (the ads' changes were taken).
struct checkpoint_result {
  bool durable = false;
  std::string error;           ///< when not durable
  std::vector<ad_delta> ads;   ///< when not durable: the rows to carry
};

/// A query for one ad's series, [from_ms, to_ms) in event time.
struct series_query {
  std::uint64_t ad_id = 0;
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  granularity gran = granularity::minute;
  std::int64_t watermark_ms = 0;  ///< stamped by the partition on its way to the ad
  std::int64_t final_before_ms = 0;  ///< likewise: minutes before this are final
};

struct series_point {
  std::int64_t start_ms = 0;
  std::uint64_t count = 0;
  bucket_state state = bucket_state::open;
  std::uint32_t version = 0;
};

struct series {
  std::uint64_t ad_id = 0;
  std::int64_t watermark_ms = 0;
  std::int64_t final_before_ms = 0;  ///< start of the partition's first minute that is not final
  std::vector<series_point> points;
};

/// What an ad actor holds in memory (admin inspect, tests).
struct ad_status {
  std::uint64_t ad_id = 0;
  bool active = false;                 ///< an actor exists for it
  std::uint64_t buckets_in_memory = 0;
  std::uint64_t ids_in_memory = 0;
  std::uint64_t id_bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ad_status& x) {
  return f(x.ad_id, x.active, x.buckets_in_memory, x.ids_in_memory, x.id_bytes);
}

/// What a partition reports about itself (admin status, readiness, benchmarks).
struct partition_status {
  std::uint32_t partition = 0;
  bool recovered = false;
  std::uint64_t dispatched_seq = 0;  ///< last stream sequence handed to ad actors
  std::uint64_t durable_seq = 0;     ///< last stream sequence in a durable checkpoint
  std::uint64_t active_ads = 0;
  std::uint64_t passivated = 0;  ///< ad actors stopped while idle, since start
  std::uint64_t checkpoints = 0;
  outcome_counters outcomes;         ///< cumulative, including what was recovered
  std::uint64_t undecided = 0;       ///< clicks dispatched whose outcome is not yet reported
  std::int64_t watermark_ms = 0;
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
  return f(x.stream_seq, x.first_click, x.click_count, x.rejected);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_batch& x) {
  return f(x.partition, x.messages, x.clicks);
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
typename Inspector::result_type inspect(Inspector& f, ad_delta& x) {
  return f(x.ad_id, x.minutes, x.ids, x.counted, x.duplicates, x.amended, x.filters);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint& x) {
  return f(x.partition, x.stream_seq, x.watermark_ms, x.outcomes, x.ads);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, checkpoint_result& x) {
  return f(x.durable, x.error, x.ads);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_query& x) {
  return f(x.ad_id, x.from_ms, x.to_ms, x.gran, x.watermark_ms, x.final_before_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_point& x) {
  return f(x.start_ms, x.count, x.state, x.version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series& x) {
  return f(x.ad_id, x.watermark_ms, x.final_before_ms, x.points);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_status& x) {
  return f(x.partition, x.recovered, x.dispatched_seq, x.durable_seq, x.active_ads, x.passivated,
           x.checkpoints, x.outcomes, x.undecided, x.watermark_ms);
}

}  // namespace adclick
