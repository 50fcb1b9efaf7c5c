#include <catch2/catch.hpp>

#include <cstdint>

#include "persistence/key_codec.hpp"

using namespace adclick;

TEST_CASE("count keys round-trip and sort by ad, granularity, then time", "[codec]") {
  auto k = keys::count_key(42, granularity::minute, 1'764'300'000'000);
  auto parts = keys::parse_count_key(k);
  REQUIRE(parts);
  CHECK(parts->ad_id == 42);
  CHECK(parts->gran == granularity::minute);
  CHECK(parts->bucket_start_ms == 1'764'300'000'000);

  // Negative times sort before positive ones (sign bit flipped), ads are big-endian.
  CHECK(keys::count_key(1, granularity::minute, -60'000) < keys::count_key(1, granularity::minute, 0));
  CHECK(keys::count_key(1, granularity::minute, 60'000) < keys::count_key(1, granularity::minute, 120'000));
  CHECK(keys::count_key(1, granularity::minute, 999'999'999'999) < keys::count_key(2, granularity::minute, 0));
  CHECK(keys::count_key(255, granularity::minute, 0) < keys::count_key(256, granularity::minute, 0));
  // A minute range scan never strays into another granularity of the same ad.
  CHECK(keys::count_key(7, granularity::hour, 0).substr(0, 9) == keys::count_key(7, granularity::minute, 0).substr(0, 9));
  CHECK(keys::count_key(7, granularity::hour, 0)[9] != keys::count_key(7, granularity::minute, 0)[9]);
}

TEST_CASE("parse_count_key rejects what is not a count key", "[codec]") {
  CHECK_FALSE(keys::parse_count_key(""));
  CHECK_FALSE(keys::parse_count_key(keys::position_key(3)));
  auto k = keys::count_key(1, granularity::minute, 0);
  k[9] = 'x';
  CHECK_FALSE(keys::parse_count_key(k));
}

TEST_CASE("expiry keys round-trip and sort by granularity, then time, then ad, and ranking keys parse", "[codec][retention]") {
  auto k = keys::expiry_key(granularity::hour, -3'600'000, 42);
  auto parts = keys::parse_expiry_key(k);
  REQUIRE(parts);
  CHECK(parts->gran == granularity::hour);
  CHECK(parts->bucket_start_ms == -3'600'000);
  CHECK(parts->ad_id == 42);
  // Time before ad: everything before a cutoff is one range, whatever the ad.
  CHECK(keys::expiry_key(granularity::minute, 0, 999) < keys::expiry_key(granularity::minute, 60'000, 1));
  CHECK(keys::expiry_key(granularity::minute, -60'000, 5) < keys::expiry_key(granularity::minute, 0, 5));
  CHECK(keys::expiry_key(granularity::minute, 59'999, 999) < keys::expiry_range_end(granularity::minute, 60'000));
  CHECK_FALSE(keys::expiry_key(granularity::minute, 60'000, 0) < keys::expiry_range_end(granularity::minute, 60'000));
  // Granularities are apart, and all of them apart from other kinds of key.
  CHECK(keys::expiry_key(granularity::day, INT64_MAX / 2, 1) < keys::expiry_range_end(granularity::hour, INT64_MIN));
  CHECK_FALSE(keys::parse_expiry_key(keys::count_key(1, granularity::minute, 0)));
  CHECK_FALSE(keys::parse_expiry_key(k.substr(0, 17)));

  auto r = keys::parse_ranking_key(keys::ranking_key(entity::campaign, granularity::day, -86'400'000, 7));
  REQUIRE(r);
  CHECK(r->by == entity::campaign);
  CHECK(r->gran == granularity::day);
  CHECK(r->bucket_start_ms == -86'400'000);
  CHECK(r->partition == 7);
  CHECK_FALSE(keys::parse_ranking_key(k));
}

TEST_CASE("bucket values round-trip and corrupt ones are refused", "[codec]") {
  keys::bucket_value v{123456789012345ULL, bucket_state::amended, 7};
  auto bytes = keys::encode_bucket(v);
  auto back = keys::decode_bucket(bytes);
  REQUIRE(back);
  CHECK(back->count == v.count);
  CHECK(back->state == v.state);
  CHECK(back->version == 7);
  CHECK_FALSE(keys::decode_bucket(bytes.substr(1)));
  bytes[8] = 9;  // no such state
  CHECK_FALSE(keys::decode_bucket(bytes));
}

TEST_CASE("positions round-trip with stream identity, outbox counter and outcome counters", "[codec]") {
  keys::position p;
  p.stream_seq = 987654321;
  p.stream_created_ns = 1'764'300'000'123'456'789;
  p.watermark_ms = 1'764'300'000'000;
  p.next_outbox_seq = 77;
  p.outcomes[outcome::counted] = 1000;
  p.outcomes[outcome::rejected_malformed] = 3;
  p.outcomes[outcome::rejected_wrong_partition] = 4;
  const auto bytes = keys::encode_position(p);
  auto back = keys::decode_position(bytes);
  REQUIRE(back);
  CHECK(back->stream_seq == p.stream_seq);
  CHECK(back->stream_created_ns == p.stream_created_ns);
  CHECK(back->watermark_ms == p.watermark_ms);
  CHECK(back->next_outbox_seq == 77);
  CHECK(back->outcomes.by_outcome == p.outcomes.by_outcome);
  CHECK_FALSE(keys::decode_position("short"));
  CHECK_FALSE(keys::decode_position(bytes.substr(0, bytes.size() - 1)));
  // A value written when there were fewer outcomes reads the newer ones as zero.
  auto older = bytes.substr(0, 48);
  older.push_back(2);
  older += bytes.substr(49, 16);
  back = keys::decode_position(older);
  REQUIRE(back);
  CHECK(back->outcomes[outcome::counted] == 1000);
  CHECK(back->outcomes[outcome::rejected_malformed] == 0);
}

TEST_CASE("meta carries format version, partition count and window rules", "[codec]") {
  keys::meta m;
  m.partitions = 16;
  m.rules.allowed_lateness_ms = 60'000;
  m.rules.dedup_horizon_ms = 7'200'000;
  keys::meta back;
  REQUIRE(keys::decode_meta(keys::encode_meta(m), back));
  CHECK(back.format == keys::format_version);
  CHECK(back.partitions == 16);
  CHECK(back.rules == m.rules);
  CHECK_FALSE(keys::decode_meta("x", back));
  // A version-2 value (format, partitions) decodes its version, for the error message.
  std::string v2{"\x02\0\0\0\x10\0\0\0", 8};
  REQUIRE(keys::decode_meta(v2, back));
  CHECK(back.format == 2);
}

TEST_CASE("outbox keys sort by partition then sequence, and values round-trip", "[codec]") {
  CHECK(keys::outbox_key(1, 255) < keys::outbox_key(1, 256));
  CHECK(keys::outbox_key(1, ~0ULL) < keys::outbox_key(2, 0));
  std::uint32_t partition = 0;
  std::uint64_t seq = 0;
  REQUIRE(keys::parse_outbox_key(keys::outbox_key(7, 123456789), partition, seq));
  CHECK(partition == 7);
  CHECK(seq == 123456789);
  CHECK_FALSE(keys::parse_outbox_key(keys::position_key(7), partition, seq));
  outbox_message m;
  m.type = outbox_message::kind::dlq;
  m.created_ms = 1'764'300'000'000;
  m.subject = "adclick.dlq";
  m.msg_id = "s1:42:0";
  m.reason = "future";
  m.payload = std::string("\0\x01binary", 8);
  outbox_message back;
  REQUIRE(keys::decode_outbox(keys::encode_outbox(m), back));
  CHECK(back.type == m.type);
  CHECK(back.created_ms == m.created_ms);
  CHECK(back.subject == m.subject);
  CHECK(back.msg_id == m.msg_id);
  CHECK(back.reason == m.reason);
  CHECK(back.payload == m.payload);
  CHECK_FALSE(keys::decode_outbox(keys::encode_outbox(m) + "x", back));
  CHECK_FALSE(keys::decode_outbox("", back));
}
