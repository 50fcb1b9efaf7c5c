#include <catch2/catch.hpp>

#include <limits>

#include <nlohmann/json.hpp>

#include "adclick/v1/admin.pb.h"
#include "messages/proto_json.hpp"
#include "messages/types.hpp"

using namespace adclick;

TEST_CASE("protobuf answers become JSON with numbers as numbers, nested messages as objects, every field present",
          "[json]") {
  v1::AdminResponse r;
  r.set_status(200);
  auto* s = r.mutable_status_reply();
  s->set_arrived(std::numeric_limits<std::uint64_t>::max());
  s->mutable_outcomes()->set_counted(7);
  auto* p = s->add_partitions();
  p->set_partition(3);
  p->set_watermark_lag_ms(-5);
  p->set_halted("quote \" and\nnewline");
  s->add_not_ready_because("a");
  auto j = nlohmann::json::parse(to_json(r));
  CHECK(j["status"] == 200);
  CHECK(j["error"] == "");                       // defaults are written
  CHECK_FALSE(j.contains("inspect"));            // a oneof only when set
  CHECK(j["status_reply"]["arrived"].get<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());
  CHECK(j["status_reply"]["outcomes"]["counted"] == 7);
  CHECK(j["status_reply"]["partitions"][0]["partition"] == 3);
  CHECK(j["status_reply"]["partitions"][0]["watermark_lag_ms"] == -5);
  CHECK(j["status_reply"]["partitions"][0]["halted"] == "quote \" and\nnewline");
  CHECK(j["status_reply"]["partitions"][0]["recovered"] == false);
  CHECK(j["status_reply"]["not_ready_because"] == nlohmann::json::array({"a"}));
  CHECK(j["status_reply"]["nats"]["connected"] == false);  // an unset message: its defaults

  v1::HotReply h;
  h.add_ads()->set_clicks_per_s(1234.5);
  CHECK(nlohmann::json::parse(to_json(h))["ads"][0]["clicks_per_s"] == 1234.5);
  // admin_body: the set reply, or the response itself for an error.
  v1::AdminResponse err;
  err.set_status(404);
  CHECK(nlohmann::json::parse(to_json(err))["status"] == 404);
}

TEST_CASE("every outcome has its field in the admin answers", "[json]") {
  v1::Outcomes o;
  for (std::size_t i = 0; i < outcome_count; ++i)
    CHECK(o.GetDescriptor()->FindFieldByName(to_string(static_cast<outcome>(i))) != nullptr);
  CHECK(o.GetDescriptor()->field_count() == static_cast<int>(outcome_count));
}

TEST_CASE("an answer from a version with outcome maps is not misread as outcomes", "[json]") {
  // Until issue 8's audit, outcomes were map<string, uint64> under field 34 of
  // PartitionStatus (5 and 13 of StatusReply). A map entry on the wire: key = field 1,
  // value = field 2. Read under the same number as an Outcomes message, the value would
  // land in `duplicate` (field 2): the numbers changed, so it is an unknown field now.
  auto entry = [](const std::string& key, std::uint8_t value) {
    std::string e;
    e.push_back(0x0a);  // field 1, length-delimited
    e.push_back(static_cast<char>(key.size()));
    e += key;
    e.push_back(0x10);  // field 2, varint
    e.push_back(static_cast<char>(value));
    return e;
  };
  auto field = [](int number, const std::string& body) {
    std::string f;
    const unsigned tag = static_cast<unsigned>(number) << 3 | 2;
    f.push_back(static_cast<char>(0x80 | (tag & 0x7f)));
    f.push_back(static_cast<char>(tag >> 7));
    f.push_back(static_cast<char>(body.size()));
    return f + body;
  };
  v1::PartitionStatus p;
  REQUIRE(p.ParseFromString(field(34, entry("counted", 5)) + field(34, entry("duplicate", 7))));
  CHECK(p.outcomes().counted() == 0);
  CHECK(p.outcomes().duplicate() == 0);
  v1::StatusReply s;
  REQUIRE(s.ParseFromString(field(5, entry("counted", 5)) + field(13, entry("counted", 6))));
  CHECK(s.outcomes().duplicate() == 0);
  CHECK(s.durable_outcomes().duplicate() == 0);
}
