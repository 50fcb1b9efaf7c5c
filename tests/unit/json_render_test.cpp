// The hand-written JSON of the HTTP door parses back to exactly what it was made from.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "gateway/http/json_render.hpp"

using namespace adclick;
using nlohmann::json;

TEST_CASE("a series renders as JSON with every field and point", "[render]") {
  series_query q{entity::campaign, 42, 1'000'000, 1'180'000, granularity::minute, true};
  series s;
  s.watermark_ms = -5;  // negative numbers too
  s.final_before_ms = 1'060'000;
  s.points = {{1'000'000, std::numeric_limits<std::uint64_t>::max(), bucket_state::amended, 3},
              {1'060'000, 0, bucket_state::final, 1},
              {1'120'000, 7, bucket_state::open, 0}};
  const auto j = json::parse(render_series(q, s));
  CHECK(j.size() == 8);
  CHECK(j["campaign_id"] == 42);
  CHECK(j["granularity"] == "minute");
  CHECK(j["view"] == "billing");
  CHECK(j["from_ms"] == 1'000'000);
  CHECK(j["to_ms"] == 1'180'000);
  CHECK(j["watermark_ms"] == -5);
  CHECK(j["final_before_ms"] == 1'060'000);
  REQUIRE(j["series"].size() == 3);
  CHECK(j["series"][0] == json{{"start_ms", 1'000'000}, {"count", std::numeric_limits<std::uint64_t>::max()},
                               {"state", "amended"}, {"version", 3}});
  CHECK(j["series"][1]["state"] == "final");
  CHECK(j["series"][2] == json{{"start_ms", 1'120'000}, {"count", 7}, {"state", "open"}, {"version", 0}});

  q.kind = entity::ad;
  q.billing = false;
  s.points.clear();
  const auto empty = json::parse(render_series(q, s));
  CHECK(empty["ad_id"] == 42);
  CHECK(empty["view"] == "live");
  CHECK(empty["series"] == json::array());
}

TEST_CASE("a top list renders in rank order", "[render]") {
  top_list t;
  t.query = top_query{entity::advertiser, 3'600'000, 7'200'000, 2, false};
  t.watermark_ms = 7'000'000;
  t.top = {{9, 100}, {2, 50}};
  const auto j = json::parse(render_top(t));
  CHECK(j == json{{"from_ms", 3'600'000}, {"to_ms", 7'200'000}, {"by", "advertiser"}, {"k", 2}, {"view", "live"},
                  {"watermark_ms", 7'000'000}, {"top", {{{"id", 9}, {"count", 100}}, {{"id", 2}, {"count", 50}}}}});
  t.top.clear();
  CHECK(json::parse(render_top(t))["top"] == json::array());
}

TEST_CASE("a live event renders as one Server-Sent Event", "[render]") {
  live_event e{17, entity::ad, 5, {120'000, 4, bucket_state::open, 0}};
  const auto text = render_sse_event(e);
  const std::string head = "id: 17\nevent: count\ndata: ";
  REQUIRE(text.rfind(head, 0) == 0);
  REQUIRE(text.size() > head.size() + 2);
  CHECK(text.substr(text.size() - 2) == "\n\n");
  const auto j = json::parse(text.substr(head.size(), text.size() - head.size() - 2));
  CHECK(j == json{{"kind", "ad"}, {"id", 5}, {"bucket_start_ms", 120'000}, {"count", 4}, {"state", "open"},
                  {"version", 0}});
}
