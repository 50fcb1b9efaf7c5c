// The byte layout of every LevelDB key and value (persistence/FORMAT.md is its prose twin).
// Pure functions, no LevelDB: keys are built so that one ad's buckets of one granularity
// are contiguous and ordered by time, so every query is one range scan.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/types.hpp"

namespace adclick::keys {

/// Bumped on any incompatible change of this file; stored under meta_key().
constexpr std::uint32_t format_version = 7;
/// The oldest format this build opens and upgrades (store::open says how), then marks as
/// format_version: 5 lacks the runs rows, 5 and 6 the expiry rows.
constexpr std::uint32_t oldest_upgradable_format = 5;
constexpr bool readable_format(std::uint32_t f) { return f >= oldest_upgradable_format && f <= format_version; }

/// Where a partition's consumer stands and what it has seen, as of its last checkpoint.
struct position {
  std::uint64_t stream_seq = 0;
  std::int64_t stream_created_ns = 0;  ///< the identity of the stream stream_seq counts in
  std::int64_t watermark_ms = 0;
  std::int64_t last_publish_ms = 0;  ///< of the last publisher message (idle markers need it)
  std::uint64_t next_outbox_seq = 0;
  /// The number the next checkpoint of the partition takes (it keys its id chunks).
  std::uint64_t next_checkpoint = 0;
  outcome_counters outcomes;
  /// The partition read a stream: a restart continues its clock from this position
  /// (partition_actor).
  bool read_a_stream() const { return stream_seq > 0 || stream_created_ns != 0; }
  /// ...and judged clicks by this watermark, which the restarted clock takes: retention
  /// deletes below it (store::purge_expired_ids). One rule for both.
  bool has_watermark() const { return read_a_stream() && watermark_ms > window_rules::no_watermark; }
};

/// What the database was created with; a mismatch at open is an error.
struct meta {
  std::uint32_t format = format_version;
  std::uint32_t partitions = 0;
  window_rules rules;
};

/// The stored value of one bucket.
struct bucket_value {
  std::uint64_t count = 0;
  bucket_state state = bucket_state::open;
  std::uint32_t version = 0;
};

/// "c" ad_id(be64) granularity('m'|'h'|'d') bucket_start(be64, sign bit flipped).
std::string count_key(std::uint64_t ad_id, granularity g, std::int64_t bucket_start_ms);
/// Decodes a count key; nullopt if `key` is not one.
struct count_key_parts {
  std::uint64_t ad_id;
  granularity gran;
  std::int64_t bucket_start_ms;
};
std::optional<count_key_parts> parse_count_key(std::string_view key);

std::string encode_bucket(const bucket_value& v);
std::optional<bucket_value> decode_bucket(std::string_view bytes);

/// The value of an hour or day count key: count(le64) open_minutes(le32) amendments(le32).
std::string encode_rollup(const rollup_value& v);
std::optional<rollup_value> decode_rollup(std::string_view bytes);

/// "a" ad_id(be64) -> campaign(le64) advertiser(le64): whom the ad's counts roll up into.
std::string owner_key(std::uint64_t ad_id);
std::string encode_owner(std::uint64_t campaign_id, std::uint64_t advertiser_id);
bool decode_owner(std::string_view bytes, std::uint64_t& campaign_id, std::uint64_t& advertiser_id);
/// Decodes an owner key's ad; false if `key` is not one.
bool parse_owner_key(std::string_view key, std::uint64_t& ad_id);

/// "r" kind('c' campaign, 'v' advertiser) id(be64) granularity bucket_start(be64, sign bit
/// flipped) partition(be32) -> rollup value: one partition's share of the bucket. All
/// shares of a bucket, and a group's buckets in time order, are one range.
std::string group_key(entity kind, std::uint64_t id, granularity g, std::int64_t bucket_start_ms,
                      std::uint32_t partition);
/// The first 10 bytes of every group key of (kind, id).
std::string group_prefix(entity kind, std::uint64_t id);
struct group_key_parts {
  entity kind;
  std::uint64_t id;
  granularity gran;
  std::int64_t bucket_start_ms;
  std::uint32_t partition;
};
std::optional<group_key_parts> parse_group_key(std::string_view key);

/// "t" by('a', 'c', 'v') granularity bucket_start(be64, sign bit flipped) partition(be32)
/// -> unlisted_max(le64) n(le32) then n x (id le64, count le64): one partition's ranking
/// of an hour or a day.
std::string ranking_key(entity by, granularity g, std::int64_t bucket_start_ms, std::uint32_t partition);
std::string encode_ranking(const ranking& r);
/// Fills `r.top` and `r.unlisted_max`; false if `bytes` is not a ranking.
bool decode_ranking(std::string_view bytes, ranking& r);

/// "e" granularity bucket_start(be64, sign bit flipped) ad_id(be64) -> empty: the ad has a
/// final count row of that bucket, which retention deletes once it is past
/// retention.<granularity> (with the ad's group shares of the bucket). Time leads, so that
/// expired buckets are one key range per granularity, never a scan of every ad.
std::string expiry_key(granularity g, std::int64_t bucket_start_ms, std::uint64_t ad_id);
/// The first expiry key of `g` whose bucket starts at or after `before_ms`.
std::string expiry_range_end(granularity g, std::int64_t before_ms);
struct expiry_key_parts {
  granularity gran;
  std::int64_t bucket_start_ms;
  std::uint64_t ad_id;
};
std::optional<expiry_key_parts> parse_expiry_key(std::string_view key);
/// "k" partition(be32) -> count_floor: minute, hour and day (i64 LE each, INT64_MIN: none
/// deleted). Written by retention of counts in the batch of its deletes, only raised.
std::string count_floor_key(std::uint32_t partition);
std::string encode_count_floor(const count_floor& f);
bool decode_count_floor(std::string_view bytes, count_floor& f);
/// The bucket and partition of a ranking key; nullopt if `key` is not one.
struct ranking_key_parts {
  entity by;
  granularity gran;
  std::int64_t bucket_start_ms;
  std::uint32_t partition;
};
std::optional<ranking_key_parts> parse_ranking_key(std::string_view key);

/// "d" minute(be64, sign bit flipped) ad_id(be64) level(u8) shard(be16) chunk(be64): the
/// click ids first seen in that (ad, minute) by checkpoint `chunk` whose hash falls in
/// `shard`, sorted, 16 bytes each. Time leads, so that ids past the dedup horizon are one
/// key range. A checkpoint's ids of an (ad, minute) are split into 2^level shards by the
/// top `level` bits of click_id_hash, the level chosen by how many there are
/// (id_level_for), so that a lookup of one id reads about id_shard_target ids per chunk
/// however hot the ad is.
std::string id_chunk_key(std::int64_t minute_ms, std::uint64_t ad_id, std::uint8_t level, std::uint16_t shard,
                         std::uint64_t chunk);
/// The first key after every per-(minute, ad) key of kind `tag` ('d' id chunks, 's' runs,
/// 'f' id filters) whose minute starts before `before_ms`: retention deletes up to it.
std::string minute_range_end(char tag, std::int64_t before_ms);
/// The minute and ad that lead a per-(minute, ad) key ('d', 's', 'f'); false if it is too short.
bool parse_minute_ad(std::string_view key, std::int64_t& minute_ms, std::uint64_t& ad_id);
/// The first 17 bytes of every id chunk key of (ad, minute).
std::string id_minute_prefix(std::int64_t minute_ms, std::uint64_t ad_id);
/// The first 20 bytes of the id chunk keys of one shard of (ad, minute).
std::string id_shard_prefix(std::int64_t minute_ms, std::uint64_t ad_id, std::uint8_t level, std::uint16_t shard);
/// The levels a chunk may be split at, and the ids a shard holds at most on average.
constexpr std::uint8_t id_levels[] = {0, 4, 8, 12};
constexpr std::size_t id_shard_target = 128;
/// The level for a chunk of `ids` ids.
std::uint8_t id_level_for(std::size_t ids);
/// The shard of `id` at `level`.
std::uint16_t id_shard(const click_id& id, std::uint8_t level);
/// Reads an id chunk key; false if `key` is not one.
bool parse_id_chunk_key(std::string_view key, std::int64_t& minute_ms, std::uint64_t& ad_id, std::uint8_t& level,
                        std::uint16_t& shard, std::uint64_t& chunk);
std::string encode_ids(const std::vector<click_id>& ids);
/// Appends the ids in `bytes` to `out`; false if `bytes` is not a whole number of ids.
bool decode_ids(std::string_view bytes, std::vector<click_id>& out);

/// "f" minute(be64, sign bit flipped) ad_id(be64): the id filter (actors/core/id_filter)
/// of all ids of a final (ad, minute), so a late click with a new id needs no read of ids.
std::string filter_key(std::uint64_t ad_id, std::int64_t minute_ms);

/// The value of an id filter row: what a final (ad, minute) keeps for late clicks. `filter`
/// is the id filter (actors/core/id_filter) of its ids that are not sequenced, opaque here;
/// `runs` its sequenced ids, sorted by (minter, first), disjoint and not touching.
/// `runs_complete` is false if some sequenced ids are in the filter instead (a filter
/// stored before runs existed, which is the bare filter: decode reads it so).
struct filter_row {
  bool runs_complete = true;
  std::string_view filter;  ///< (a view into the decoded bytes)
  std::vector<id_span> runs;
};
std::string encode_filter_row(bool runs_complete, std::string_view filter, const std::vector<id_span>& runs);
/// False if `bytes` is not a filter row (a bare filter is taken as one; its own parse
/// decides whether it is valid).
bool decode_filter_row(std::string_view bytes, filter_row& out);

/// "s" minute(be64, sign bit flipped) ad_id(be64): the sequenced click ids of (ad, minute)
/// as runs (recent_ids::take_runs_changes), rewritten whole by each checkpoint that adds
/// one; kept when the minute is final, deleted by retention.
std::string runs_key(std::uint64_t ad_id, std::int64_t minute_ms);
/// The value of a runs row: the runs, sorted by (minter, first), disjoint and not touching.
std::string encode_runs_row(const std::vector<id_span>& runs);
/// Appends the runs of a runs row to `out`; false if `bytes` is not one.
bool decode_runs_row(std::string_view bytes, std::vector<id_span>& out);
/// The kinds of per-(minute, ad) rows of the dedup state, in key order.
constexpr char dedup_tags[] = {'d', 'f', 's'};

/// "o" partition(be32) minute(be64, sign bit flipped) ad_id(be64) -> empty: an open bucket,
/// so that a restarted partition knows whom to finalize.
std::string open_key(std::uint32_t partition, std::int64_t minute_ms, std::uint64_t ad_id);
std::string open_prefix(std::uint32_t partition);
/// Decodes an open key into (minute, ad); false if it is not one.
bool parse_open_key(std::string_view key, std::int64_t& minute_ms, std::uint64_t& ad_id);

/// "x" partition(be32) seq(be64) -> an outbox message waiting to be published.
std::string outbox_key(std::uint32_t partition, std::uint64_t seq);
std::string outbox_prefix(std::uint32_t partition);
/// Decodes an outbox key's seq; false if it is not one.
bool parse_outbox_key(std::string_view key, std::uint32_t& partition, std::uint64_t& seq);
std::string encode_outbox(const outbox_message& m);
/// False if `bytes` is not an outbox value. `m.seq` is not in the value (it is in the key).
bool decode_outbox(std::string_view bytes, outbox_message& m);

/// "p" partition(be32).
std::string position_key(std::uint32_t partition);
std::string encode_position(const position& p);
std::optional<position> decode_position(std::string_view bytes);

/// "meta": format(le32) partitions(le32) then the window rules (4 x le64).
std::string meta_key();
std::string encode_meta(const meta& m);
/// Returns false if `bytes` is not a meta value. A value of another format version
/// decodes only its `format` (so that the error can name it).
bool decode_meta(std::string_view bytes, meta& m);

}  // namespace adclick::keys
