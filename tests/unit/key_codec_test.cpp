#include <catch2/catch.hpp>

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

TEST_CASE("positions round-trip with their outcome counters", "[codec]") {
  keys::position p;
  p.stream_seq = 987654321;
  p.watermark_ms = 1'764'300'000'000;
  p.outcomes[outcome::counted] = 1000;
  p.outcomes[outcome::rejected_malformed] = 3;
  auto back = keys::decode_position(keys::encode_position(p));
  REQUIRE(back);
  CHECK(back->stream_seq == p.stream_seq);
  CHECK(back->watermark_ms == p.watermark_ms);
  CHECK(back->outcomes.by_outcome == p.outcomes.by_outcome);
  CHECK_FALSE(keys::decode_position("short"));
}

TEST_CASE("meta carries format version and partition count", "[codec]") {
  std::uint32_t format = 0, partitions = 0;
  REQUIRE(keys::decode_meta(keys::encode_meta(16), format, partitions));
  CHECK(format == keys::format_version);
  CHECK(partitions == 16);
  CHECK_FALSE(keys::decode_meta("x", format, partitions));
}
