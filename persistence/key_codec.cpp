#include "persistence/key_codec.hpp"

#include <cstring>

#include "persistence/bytes.hpp"

namespace adclick::keys {

namespace {

using bytes::get_le32;
using bytes::get_le64;
using bytes::put_le32;
using bytes::put_le64;

constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63;

void put_be64(std::string& out, std::uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(x >> shift));
}
void put_be32(std::string& out, std::uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(x >> shift));
}
std::uint64_t get_be64(const char* p) {
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}
std::uint32_t get_be32(const char* p) {
  std::uint32_t x = 0;
  for (int i = 0; i < 4; ++i) x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

char granularity_tag(granularity g) {
  switch (g) {
    case granularity::minute: return 'm';
    case granularity::hour: return 'h';
    case granularity::day: return 'd';
  }
  return '?';
}

}  // namespace

std::string count_key(std::uint64_t ad_id, granularity g, std::int64_t bucket_start_ms) {
  std::string key;
  key.reserve(18);
  key.push_back('c');
  put_be64(key, ad_id);
  key.push_back(granularity_tag(g));
  put_be64(key, static_cast<std::uint64_t>(bucket_start_ms) ^ sign_bit);
  return key;
}

std::optional<count_key_parts> parse_count_key(std::string_view key) {
  if (key.size() != 18 || key[0] != 'c') return std::nullopt;
  count_key_parts parts{};
  parts.ad_id = get_be64(key.data() + 1);
  switch (key[9]) {
    case 'm': parts.gran = granularity::minute; break;
    case 'h': parts.gran = granularity::hour; break;
    case 'd': parts.gran = granularity::day; break;
    default: return std::nullopt;
  }
  parts.bucket_start_ms = static_cast<std::int64_t>(get_be64(key.data() + 10) ^ sign_bit);
  return parts;
}

std::string encode_bucket(const bucket_value& v) {
  std::string out;
  out.reserve(13);
  put_le64(out, v.count);
  out.push_back(static_cast<char>(v.state));
  put_le32(out, v.version);
  return out;
}

std::optional<bucket_value> decode_bucket(std::string_view bytes) {
  if (bytes.size() != 13) return std::nullopt;
  auto state = static_cast<unsigned char>(bytes[8]);
  if (state > static_cast<unsigned char>(bucket_state::amended)) return std::nullopt;
  return bucket_value{get_le64(bytes.data()), static_cast<bucket_state>(state),
                      get_le32(bytes.data() + 9)};
}

std::string encode_rollup(const rollup_value& v) {
  std::string out;
  out.reserve(16);
  put_le64(out, v.count);
  put_le32(out, v.open_minutes);
  put_le32(out, v.amendments);
  return out;
}

std::optional<rollup_value> decode_rollup(std::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  return rollup_value{get_le64(bytes.data()), get_le32(bytes.data() + 8), get_le32(bytes.data() + 12)};
}

std::string owner_key(std::uint64_t ad_id) {
  std::string key{"a"};
  put_be64(key, ad_id);
  return key;
}

std::string encode_owner(std::uint64_t campaign_id, std::uint64_t advertiser_id) {
  std::string out;
  put_le64(out, campaign_id);
  put_le64(out, advertiser_id);
  return out;
}

bool decode_owner(std::string_view bytes, std::uint64_t& campaign_id, std::uint64_t& advertiser_id) {
  if (bytes.size() != 16) return false;
  campaign_id = get_le64(bytes.data());
  advertiser_id = get_le64(bytes.data() + 8);
  return true;
}

bool parse_owner_key(std::string_view key, std::uint64_t& ad_id) {
  if (key.size() != 9 || key[0] != 'a') return false;
  ad_id = get_be64(key.data() + 1);
  return true;
}

namespace {
char entity_tag(entity e) {
  switch (e) {
    case entity::ad: return 'a';
    case entity::campaign: return 'c';
    case entity::advertiser: return 'v';
  }
  return '?';
}
bool entity_of(char tag, entity& out) {
  switch (tag) {
    case 'a': out = entity::ad; return true;
    case 'c': out = entity::campaign; return true;
    case 'v': out = entity::advertiser; return true;
    default: return false;
  }
}
bool granularity_of(char tag, granularity& out) {
  switch (tag) {
    case 'm': out = granularity::minute; return true;
    case 'h': out = granularity::hour; return true;
    case 'd': out = granularity::day; return true;
    default: return false;
  }
}
}  // namespace

std::string group_prefix(entity kind, std::uint64_t id) {
  std::string key{"r"};
  key.push_back(entity_tag(kind));
  put_be64(key, id);
  return key;
}

std::string group_key(entity kind, std::uint64_t id, granularity g, std::int64_t bucket_start_ms,
                      std::uint32_t partition) {
  auto key = group_prefix(kind, id);
  key.push_back(granularity_tag(g));
  put_be64(key, static_cast<std::uint64_t>(bucket_start_ms) ^ sign_bit);
  put_be32(key, partition);
  return key;
}

std::optional<group_key_parts> parse_group_key(std::string_view key) {
  if (key.size() != 23 || key[0] != 'r') return std::nullopt;
  group_key_parts parts{};
  if (!entity_of(key[1], parts.kind) || parts.kind == entity::ad || !granularity_of(key[10], parts.gran))
    return std::nullopt;
  parts.id = get_be64(key.data() + 2);
  parts.bucket_start_ms = static_cast<std::int64_t>(get_be64(key.data() + 11) ^ sign_bit);
  parts.partition = get_be32(key.data() + 19);
  return parts;
}

std::string ranking_key(entity by, granularity g, std::int64_t bucket_start_ms, std::uint32_t partition) {
  std::string key{"t"};
  key.push_back(entity_tag(by));
  key.push_back(granularity_tag(g));
  put_be64(key, static_cast<std::uint64_t>(bucket_start_ms) ^ sign_bit);
  put_be32(key, partition);
  return key;
}

std::optional<ranking_key_parts> parse_ranking_key(std::string_view key) {
  if (key.size() != 15 || key[0] != 't') return std::nullopt;
  ranking_key_parts parts{};
  if (!entity_of(key[1], parts.by) || !granularity_of(key[2], parts.gran)) return std::nullopt;
  parts.bucket_start_ms = static_cast<std::int64_t>(get_be64(key.data() + 3) ^ sign_bit);
  parts.partition = get_be32(key.data() + 11);
  return parts;
}

std::string count_floor_key(std::uint32_t partition) {
  std::string key{"k"};
  put_be32(key, partition);
  return key;
}

std::string encode_count_floor(const count_floor& f) {
  std::string out;
  for (auto x : f.kept_from) put_le64(out, static_cast<std::uint64_t>(x));
  return out;
}

bool decode_count_floor(std::string_view bytes, count_floor& f) {
  if (bytes.size() != 24) return false;
  for (std::size_t i = 0; i < 3; ++i) f.kept_from[i] = static_cast<std::int64_t>(get_le64(bytes.data() + 8 * i));
  return true;
}

std::string expiry_key(granularity g, std::int64_t bucket_start_ms, std::uint64_t ad_id) {
  std::string key{"e"};
  key.reserve(18);
  key.push_back(granularity_tag(g));
  put_be64(key, static_cast<std::uint64_t>(bucket_start_ms) ^ sign_bit);
  put_be64(key, ad_id);
  return key;
}

std::string expiry_range_end(granularity g, std::int64_t before_ms) {
  std::string key{"e"};
  key.push_back(granularity_tag(g));
  put_be64(key, static_cast<std::uint64_t>(before_ms) ^ sign_bit);
  return key;
}

std::optional<expiry_key_parts> parse_expiry_key(std::string_view key) {
  if (key.size() != 18 || key[0] != 'e') return std::nullopt;
  expiry_key_parts parts{};
  if (!granularity_of(key[1], parts.gran)) return std::nullopt;
  parts.bucket_start_ms = static_cast<std::int64_t>(get_be64(key.data() + 2) ^ sign_bit);
  parts.ad_id = get_be64(key.data() + 10);
  return parts;
}

std::string encode_ranking(const ranking& r) {
  std::string out;
  out.reserve(12 + 16 * r.top.size());
  put_le64(out, r.unlisted_max);
  put_le32(out, static_cast<std::uint32_t>(r.top.size()));
  for (const auto& e : r.top) {
    put_le64(out, e.id);
    put_le64(out, e.count);
  }
  return out;
}

bool decode_ranking(std::string_view bytes, ranking& r) {
  if (bytes.size() < 12) return false;
  const auto n = get_le32(bytes.data() + 8);
  if (bytes.size() != 12 + 16 * std::size_t{n}) return false;
  r.unlisted_max = get_le64(bytes.data());
  r.top.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    r.top[i] = {get_le64(bytes.data() + 12 + 16 * i), get_le64(bytes.data() + 20 + 16 * i)};
  return true;
}


namespace {
/// tag minute(be64, sign bit flipped) ad_id(be64): the head of per-(minute, ad) keys that
/// retention drops by time.
std::string minute_ad_key(char tag, std::int64_t minute_ms, std::uint64_t ad_id) {
  std::string key;
  key.reserve(28);
  key.push_back(tag);
  put_be64(key, static_cast<std::uint64_t>(minute_ms) ^ sign_bit);
  put_be64(key, ad_id);
  return key;
}
}  // namespace

std::string id_minute_prefix(std::int64_t minute_ms, std::uint64_t ad_id) { return minute_ad_key('d', minute_ms, ad_id); }

std::string minute_range_end(char tag, std::int64_t before_ms) { return minute_ad_key(tag, before_ms, 0); }

bool parse_minute_ad(std::string_view key, std::int64_t& minute_ms, std::uint64_t& ad_id) {
  if (key.size() < 17) return false;
  minute_ms = static_cast<std::int64_t>(get_be64(key.data() + 1) ^ sign_bit);
  ad_id = get_be64(key.data() + 9);
  return true;
}

std::string id_shard_prefix(std::int64_t minute_ms, std::uint64_t ad_id, std::uint8_t level, std::uint16_t shard) {
  auto key = id_minute_prefix(minute_ms, ad_id);
  key.push_back(static_cast<char>(level));
  key.push_back(static_cast<char>(shard >> 8));
  key.push_back(static_cast<char>(shard & 0xff));
  return key;
}

std::string id_chunk_key(std::int64_t minute_ms, std::uint64_t ad_id, std::uint8_t level, std::uint16_t shard,
                         std::uint64_t chunk) {
  auto key = id_shard_prefix(minute_ms, ad_id, level, shard);
  put_be64(key, chunk);
  return key;
}

std::uint8_t id_level_for(std::size_t ids) {
  for (auto level : id_levels)
    if (ids <= (id_shard_target << level)) return level;
  return id_levels[std::size(id_levels) - 1];
}

std::uint16_t id_shard(const click_id& id, std::uint8_t level) {
  return level == 0 ? 0 : static_cast<std::uint16_t>(click_id_hash(id) >> (64 - level));
}

bool parse_id_chunk_key(std::string_view key, std::int64_t& minute_ms, std::uint64_t& ad_id, std::uint8_t& level,
                        std::uint16_t& shard, std::uint64_t& chunk) {
  if (key.size() != 28 || key[0] != 'd') return false;
  minute_ms = static_cast<std::int64_t>(get_be64(key.data() + 1) ^ sign_bit);
  ad_id = get_be64(key.data() + 9);
  level = static_cast<std::uint8_t>(key[17]);
  shard = static_cast<std::uint16_t>((static_cast<unsigned char>(key[18]) << 8) | static_cast<unsigned char>(key[19]));
  chunk = get_be64(key.data() + 20);
  return true;
}

std::string encode_ids(const std::vector<click_id>& ids) {
  std::string out;
  out.resize(ids.size() * click_id_size);
  for (std::size_t i = 0; i < ids.size(); ++i)
    std::memcpy(out.data() + i * click_id_size, ids[i].data(), click_id_size);
  return out;
}

bool decode_ids(std::string_view bytes, std::vector<click_id>& out) {
  if (bytes.size() % click_id_size != 0) return false;
  const auto n = bytes.size() / click_id_size;
  const auto first = out.size();
  out.resize(first + n);
  for (std::size_t i = 0; i < n; ++i) std::memcpy(out[first + i].data(), bytes.data() + i * click_id_size, click_id_size);
  return true;
}

std::string filter_key(std::uint64_t ad_id, std::int64_t minute_ms) { return minute_ad_key('f', minute_ms, ad_id); }

std::string runs_key(std::uint64_t ad_id, std::int64_t minute_ms) { return minute_ad_key('s', minute_ms, ad_id); }

namespace {
constexpr std::uint8_t filter_row_tag = 0xB2;  // (a bare filter, before runs, starts 0xB1)
constexpr std::uint8_t runs_row_tag = 0xB3;
constexpr std::uint8_t runs_complete_flag = 1;

// n (u32 LE) · n × (minter u64 LE, first u32 LE, last u32 LE): the tail of both rows.
void put_spans(std::string& out, const std::vector<id_span>& runs) {
  bytes::put_le32(out, static_cast<std::uint32_t>(runs.size()));
  for (const auto& r : runs) {
    bytes::put_le64(out, r.minter);
    bytes::put_le32(out, r.first);
    bytes::put_le32(out, r.last);
  }
}

// Reads the tail of a row (all of `in`); false unless the runs are sorted, disjoint and
// apart, as put_spans is given them: anything else is not a row this code wrote, and a
// reader that trusted it could miss an id.
bool take_spans(std::string_view in, std::vector<id_span>& out) {
  std::uint32_t n = 0;
  if (!bytes::take_le32(in, n) || in.size() != std::size_t{n} * 16) return false;
  const auto first = out.size();
  out.reserve(first + n);
  for (std::uint32_t i = 0; i < n; ++i) {
    id_span r;
    bytes::take_le64(in, r.minter);
    bytes::take_le32(in, r.first);
    bytes::take_le32(in, r.last);
    if (r.last < r.first) return false;
    if (i > 0) {
      const auto& p = out.back();
      if (r.minter < p.minter || (r.minter == p.minter && r.first <= std::uint64_t{p.last} + 1)) return false;
    }
    out.push_back(r);
  }
  return true;
}
}  // namespace

std::string encode_filter_row(bool runs_complete, std::string_view filter, const std::vector<id_span>& runs) {
  std::string out;
  out.reserve(10 + filter.size() + 16 * runs.size());
  out.push_back(static_cast<char>(filter_row_tag));
  out.push_back(static_cast<char>(runs_complete ? runs_complete_flag : 0));
  bytes::put_le32(out, static_cast<std::uint32_t>(filter.size()));
  out += filter;
  put_spans(out, runs);
  return out;
}

bool decode_filter_row(std::string_view in, filter_row& out) {
  out = filter_row{};
  if (in.empty()) return false;
  if (static_cast<std::uint8_t>(in[0]) != filter_row_tag) {  // a bare filter: every id is in it
    out.runs_complete = false;
    out.filter = in;
    return true;
  }
  in.remove_prefix(1);
  if (in.empty()) return false;
  const auto flags = static_cast<std::uint8_t>(in[0]);
  in.remove_prefix(1);
  std::uint32_t filter_bytes = 0;
  if (flags & ~runs_complete_flag || !bytes::take_le32(in, filter_bytes) || in.size() < filter_bytes) return false;
  out.runs_complete = (flags & runs_complete_flag) != 0;
  out.filter = in.substr(0, filter_bytes);
  in.remove_prefix(filter_bytes);
  return take_spans(in, out.runs);
}

std::string encode_runs_row(const std::vector<id_span>& runs) {
  std::string out;
  out.reserve(5 + 16 * runs.size());
  out.push_back(static_cast<char>(runs_row_tag));
  put_spans(out, runs);
  return out;
}

bool decode_runs_row(std::string_view in, std::vector<id_span>& out) {
  if (in.empty() || static_cast<std::uint8_t>(in[0]) != runs_row_tag) return false;
  in.remove_prefix(1);
  return take_spans(in, out);
}

std::string open_prefix(std::uint32_t partition) {
  std::string key{"o"};
  put_be32(key, partition);
  return key;
}

std::string open_key(std::uint32_t partition, std::int64_t minute_ms, std::uint64_t ad_id) {
  auto key = open_prefix(partition);
  put_be64(key, static_cast<std::uint64_t>(minute_ms) ^ sign_bit);
  put_be64(key, ad_id);
  return key;
}

bool parse_open_key(std::string_view key, std::int64_t& minute_ms, std::uint64_t& ad_id) {
  if (key.size() != 21 || key[0] != 'o') return false;
  minute_ms = static_cast<std::int64_t>(get_be64(key.data() + 5) ^ sign_bit);
  ad_id = get_be64(key.data() + 13);
  return true;
}

std::string position_key(std::uint32_t partition) {
  std::string key{"p"};
  put_be32(key, partition);
  return key;
}

namespace {
// stream_seq, stream_created, watermark, last_publish, next_outbox_seq, next_checkpoint
constexpr std::size_t position_head = 48;
}  // namespace

std::string encode_position(const position& p) {
  std::string out;
  out.reserve(position_head + 1 + 8 * outcome_count);
  put_le64(out, p.stream_seq);
  put_le64(out, static_cast<std::uint64_t>(p.stream_created_ns));
  put_le64(out, static_cast<std::uint64_t>(p.watermark_ms));
  put_le64(out, static_cast<std::uint64_t>(p.last_publish_ms));
  put_le64(out, p.next_outbox_seq);
  put_le64(out, p.next_checkpoint);
  out.push_back(static_cast<char>(outcome_count));
  for (auto n : p.outcomes.by_outcome) put_le64(out, n);
  return out;
}

std::optional<position> decode_position(std::string_view bytes) {
  if (bytes.size() < position_head + 1) return std::nullopt;
  const auto counters = static_cast<unsigned char>(bytes[position_head]);
  // Outcomes are only ever appended: a value with fewer counters is read with the rest 0.
  if (counters > outcome_count || bytes.size() != position_head + 1 + 8 * std::size_t{counters}) return std::nullopt;
  position p;
  p.stream_seq = get_le64(bytes.data());
  p.stream_created_ns = static_cast<std::int64_t>(get_le64(bytes.data() + 8));
  p.watermark_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 16));
  p.last_publish_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 24));
  p.next_outbox_seq = get_le64(bytes.data() + 32);
  p.next_checkpoint = get_le64(bytes.data() + 40);
  for (std::size_t i = 0; i < counters; ++i)
    p.outcomes.by_outcome[i] = get_le64(bytes.data() + position_head + 1 + 8 * i);
  return p;
}

std::string outbox_prefix(std::uint32_t partition) {
  std::string key{"x"};
  put_be32(key, partition);
  return key;
}

std::string outbox_key(std::uint32_t partition, std::uint64_t seq) {
  auto key = outbox_prefix(partition);
  put_be64(key, seq);
  return key;
}

bool parse_outbox_key(std::string_view key, std::uint32_t& partition, std::uint64_t& seq) {
  if (key.size() != 13 || key[0] != 'x') return false;
  partition = get_be32(key.data() + 1);
  seq = get_be64(key.data() + 5);
  return true;
}

namespace {
void put_text(std::string& out, std::string_view s) {
  put_le32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
bool get_text(std::string_view& in, std::string& s) {
  if (in.size() < 4) return false;
  const auto n = get_le32(in.data());
  if (in.size() - 4 < n) return false;
  s.assign(in.data() + 4, n);
  in.remove_prefix(4 + std::size_t{n});
  return true;
}
}  // namespace

std::string encode_outbox(const outbox_message& m) {
  std::string out;
  out.reserve(9 + 16 + m.subject.size() + m.msg_id.size() + m.reason.size() + m.payload.size());
  out.push_back(static_cast<char>(m.type));
  put_le64(out, static_cast<std::uint64_t>(m.created_ms));
  put_le64(out, m.original_bytes);
  put_le64(out, static_cast<std::uint64_t>(m.check_since_ms));
  put_text(out, m.subject);
  put_text(out, m.msg_id);
  put_text(out, m.reason);
  put_text(out, m.payload);
  return out;
}

bool decode_outbox(std::string_view bytes, outbox_message& m) {
  if (bytes.size() < 25 || static_cast<unsigned char>(bytes[0]) > static_cast<unsigned char>(outbox_message::kind::dlq))
    return false;
  m.type = static_cast<outbox_message::kind>(bytes[0]);
  m.created_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 1));
  m.original_bytes = get_le64(bytes.data() + 9);
  m.check_since_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 17));
  bytes.remove_prefix(25);
  return get_text(bytes, m.subject) && get_text(bytes, m.msg_id) && get_text(bytes, m.reason) &&
         get_text(bytes, m.payload) && bytes.empty();
}

std::string meta_key() { return "meta"; }

std::string encode_meta(const meta& m) {
  std::string out;
  put_le32(out, m.format);
  put_le32(out, m.partitions);
  put_le64(out, static_cast<std::uint64_t>(m.rules.max_out_of_orderness_ms));
  put_le64(out, static_cast<std::uint64_t>(m.rules.allowed_lateness_ms));
  put_le64(out, static_cast<std::uint64_t>(m.rules.dedup_horizon_ms));
  put_le64(out, static_cast<std::uint64_t>(m.rules.max_future_skew_ms));
  return out;
}

bool decode_meta(std::string_view bytes, meta& m) {
  if (bytes.size() < 8) return false;
  m.format = get_le32(bytes.data());
  m.partitions = get_le32(bytes.data() + 4);
  // (The caller refuses any other version by its number; one it upgrades is compared by
  // its rules like the current one.)
  if (!readable_format(m.format)) return true;
  if (bytes.size() != 40) return false;
  m.rules.max_out_of_orderness_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 8));
  m.rules.allowed_lateness_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 16));
  m.rules.dedup_horizon_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 24));
  m.rules.max_future_skew_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 32));
  return true;
}

}  // namespace adclick::keys
