#include "persistence/key_codec.hpp"

#include <cstring>

namespace adclick::keys {

namespace {

constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63;

void put_be64(std::string& out, std::uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(x >> shift));
}
void put_be32(std::string& out, std::uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(x >> shift));
}
void put_le64(std::string& out, std::uint64_t x) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>(x >> shift));
}
void put_le32(std::string& out, std::uint32_t x) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(x >> shift));
}
std::uint64_t get_be64(const char* p) {
  std::uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}
std::uint64_t get_le64(const char* p) {
  std::uint64_t x = 0;
  for (int i = 7; i >= 0; --i) x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}
std::uint32_t get_le32(const char* p) {
  std::uint32_t x = 0;
  for (int i = 3; i >= 0; --i) x = (x << 8) | static_cast<unsigned char>(p[i]);
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

namespace {
/// tag ad_id(be64) minute(be64, sign bit flipped): the head of every per-(ad, minute) key.
std::string ad_minute_key(char tag, std::uint64_t ad_id, std::int64_t minute_ms) {
  std::string key;
  key.reserve(25);
  key.push_back(tag);
  put_be64(key, ad_id);
  put_be64(key, static_cast<std::uint64_t>(minute_ms) ^ sign_bit);
  return key;
}
}  // namespace

std::string id_chunk_prefix(std::uint64_t ad_id, std::int64_t minute_ms) { return ad_minute_key('d', ad_id, minute_ms); }

std::string id_chunk_key(std::uint64_t ad_id, std::int64_t minute_ms, std::uint64_t chunk) {
  auto key = id_chunk_prefix(ad_id, minute_ms);
  put_be64(key, chunk);
  return key;
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

std::string filter_key(std::uint64_t ad_id, std::int64_t minute_ms) { return ad_minute_key('f', ad_id, minute_ms); }

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

std::string encode_position(const position& p) {
  std::string out;
  out.reserve(16 + 8 * outcome_count);
  put_le64(out, p.stream_seq);
  put_le64(out, static_cast<std::uint64_t>(p.watermark_ms));
  for (auto n : p.outcomes.by_outcome) put_le64(out, n);
  return out;
}

std::optional<position> decode_position(std::string_view bytes) {
  if (bytes.size() != 16 + 8 * outcome_count) return std::nullopt;
  position p;
  p.stream_seq = get_le64(bytes.data());
  p.watermark_ms = static_cast<std::int64_t>(get_le64(bytes.data() + 8));
  for (std::size_t i = 0; i < outcome_count; ++i)
    p.outcomes.by_outcome[i] = get_le64(bytes.data() + 16 + 8 * i);
  return p;
}

std::string meta_key() { return "meta"; }

std::string encode_meta(std::uint32_t partitions) {
  std::string out;
  put_le32(out, format_version);
  put_le32(out, partitions);
  return out;
}

bool decode_meta(std::string_view bytes, std::uint32_t& format, std::uint32_t& partitions) {
  if (bytes.size() != 8) return false;
  format = get_le32(bytes.data());
  partitions = get_le32(bytes.data() + 4);
  return true;
}

}  // namespace adclick::keys
