#include <catch2/catch.hpp>

#include "messages/click_codec.hpp"
#include "adclick/v1/click.pb.h"

using namespace adclick;

namespace {
click make_click(std::uint64_t ad, std::int64_t t, std::uint8_t id_byte) {
  click c;
  c.id.fill(id_byte);
  c.ad_id = ad;
  c.campaign_id = ad / 10;
  c.advertiser_id = ad / 100;
  c.event_time_ms = t;
  c.key_id = 3;
  return c;
}
}  // namespace

TEST_CASE("a ClickBatch round-trips through the codec", "[codec]") {
  std::vector<click> in{make_click(1, 1000, 1), make_click(2, 2000, 2), make_click(3, 3000, 3)};
  auto bytes = encode_click_batch(in.data(), in.size());
  std::vector<click> out;
  outcome_counters rejected;
  CHECK(decode_click_batch(bytes.data(), bytes.size(), out, rejected) == 3);
  CHECK(rejected.total() == 0);
  REQUIRE(out.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(out[i].id == in[i].id);
    CHECK(out[i].ad_id == in[i].ad_id);
    CHECK(out[i].campaign_id == in[i].campaign_id);
    CHECK(out[i].advertiser_id == in[i].advertiser_id);
    CHECK(out[i].event_time_ms == in[i].event_time_ms);
    CHECK(out[i].key_id == in[i].key_id);
  }
}

TEST_CASE("an empty message or a batch with no clicks is one malformed arrival", "[codec]") {
  std::vector<click> out;
  outcome_counters rejected;
  CHECK(decode_click_batch("", 0, out, rejected) == 0);
  CHECK(rejected[outcome::rejected_malformed] == 1);
  // Bytes that parse as a ClickBatch holding nothing but an unknown field.
  const std::string unknown_only = "\x10\x01";
  CHECK(decode_click_batch(unknown_only.data(), unknown_only.size(), out, rejected) == 0);
  CHECK(rejected[outcome::rejected_malformed] == 2);
  CHECK(rejected.total() == 2);
  CHECK(out.empty());
}

TEST_CASE("garbage bytes are one malformed arrival, not a crash", "[codec]") {
  const std::string garbage = "\xff\xff\xff\xff this is not protobuf";
  std::vector<click> out;
  outcome_counters rejected;
  CHECK(decode_click_batch(garbage.data(), garbage.size(), out, rejected) == 0);
  CHECK(out.empty());
  CHECK(rejected[outcome::rejected_malformed] == 1);
  CHECK(rejected.total() == 1);
}

TEST_CASE("each bad click is rejected with its reason while good ones in the same batch pass", "[codec]") {
  v1::ClickBatch batch;
  auto* good = batch.add_clicks();
  good->set_click_id(std::string(16, 'a'));
  good->set_ad_id(5);
  good->set_event_time_ms(1000);
  auto* short_id = batch.add_clicks();
  short_id->set_click_id("too-short");
  short_id->set_ad_id(5);
  short_id->set_event_time_ms(1000);
  auto* no_time = batch.add_clicks();
  no_time->set_click_id(std::string(16, 'b'));
  no_time->set_ad_id(5);
  auto bytes = batch.SerializeAsString();
  std::vector<click> out;
  outcome_counters rejected;
  CHECK(decode_click_batch(bytes.data(), bytes.size(), out, rejected) == 1);
  CHECK(rejected[outcome::rejected_bad_id] == 1);
  CHECK(rejected[outcome::rejected_malformed] == 1);
}

TEST_CASE("partition_of is ad_id mod partitions", "[codec]") {
  CHECK(partition_of(0, 16) == 0);
  CHECK(partition_of(17, 16) == 1);
  CHECK(partition_of(~0ULL, 16) == 15);
}
