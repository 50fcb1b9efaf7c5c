#include <catch2/catch.hpp>

#include "actors/core/click_grouping.hpp"

using namespace adclick;

namespace {
constexpr std::int64_t wall = 1'764'300'000'000;
}  // namespace

namespace {
/// A batch of messages; each message is a list of ad ids (one click each).
ingest_batch make_batch(const std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>>& msgs,
                        std::int64_t event_time = 1000) {
  ingest_batch b;
  for (const auto& [seq, ads] : msgs) {
    fetched_message m;
    m.stream_seq = seq;
    m.publish_ms = wall;
    m.first_click = static_cast<std::uint32_t>(b.clicks.size());
    m.click_count = static_cast<std::uint32_t>(ads.size());
    for (auto ad : ads) {
      click c;
      c.ad_id = ad;
      c.event_time_ms = event_time;
      b.clicks.push_back(c);
    }
    b.messages.push_back(m);
  }
  return b;
}
}  // namespace

TEST_CASE("clicks are grouped by ad, one entry per ad", "[grouping]") {
  grouped_batch g;
  event_clock clock{window_rules{}};
  auto seq = group_by_ad(make_batch({{1, {7, 8, 7}}, {2, {7}}}), 0, clock, 1, g);
  CHECK(seq == 2);
  CHECK(g.by_ad.size() == 2);
  CHECK(g.by_ad[7].size() == 3);
  CHECK(g.by_ad[8].size() == 1);
  CHECK(g.clicks == 4);
  CHECK(g.rejected.total() == 0);
  CHECK(g.new_messages == 2);
  CHECK(g.skipped_messages == 0);
}

TEST_CASE("messages at or below the dispatched position are skipped (redeliveries)", "[grouping]") {
  grouped_batch g;
  event_clock clock{window_rules{}};
  auto seq = group_by_ad(make_batch({{4, {1}}, {5, {1, 2}}, {6, {3}}}), 5, clock, 1, g);
  CHECK(seq == 6);
  CHECK(g.skipped_messages == 2);
  CHECK(g.new_messages == 1);
  CHECK(g.by_ad.size() == 1);
  CHECK(g.by_ad.count(3) == 1);
  CHECK(g.clicks == 1);

  // A batch of only redeliveries changes nothing.
  seq = group_by_ad(make_batch({{6, {3}}}), 6, clock, 1, g);
  CHECK(seq == 6);
  CHECK(g.by_ad.empty());
  CHECK(g.clicks == 0);
}

TEST_CASE("decoder rejections are carried into the outcomes", "[grouping]") {
  auto b = make_batch({{1, {}}, {2, {9}}});
  b.messages[0].rejected[outcome::rejected_malformed] = 1;
  grouped_batch g;
  event_clock clock{window_rules{}};
  group_by_ad(b, 0, clock, 1, g);
  CHECK(g.rejected[outcome::rejected_malformed] == 1);
  CHECK(g.rejected.total() == 1);
  CHECK(g.clicks == 1);
}

TEST_CASE("clicks are classified per message, whatever the fetch boundaries", "[grouping][watermark]") {
  window_rules r;
  r.max_out_of_orderness_ms = 0;
  r.allowed_lateness_ms = 0;
  r.dedup_horizon_ms = 10 * 60'000;
  r.max_future_skew_ms = 60'000;
  const std::int64_t t = wall - 30 * 60'000;  // minute-aligned, half an hour ago
  // Message 1 at t+2min makes minute t final; message 2 holds a click for minute t (late),
  // one 11 min back (too old) and one in the future.
  auto one = make_batch({{1, {1}}}, t + 2 * 60'000);
  ingest_batch two;
  fetched_message m;
  m.stream_seq = 2;
  m.publish_ms = wall;
  m.click_count = 3;
  two.messages.push_back(m);
  for (auto et : {t + 5, t + 2 * 60'000 - 11 * 60'000, wall + 120'000}) {
    click c;
    c.ad_id = 2;
    c.event_time_ms = et;
    two.clicks.push_back(c);
  }
  auto check = [&](const grouped_batch& g) {
    CHECK(g.rejected[outcome::rejected_too_old] == 1);
    CHECK(g.rejected[outcome::rejected_future] == 1);
    CHECK(g.rejections.size() == 2);
    REQUIRE(g.by_ad.count(2) == 1);
    CHECK(g.by_ad.at(2).size() == 1);
    CHECK(g.by_ad.at(2)[0].late);
  };
  // Fetched one message at a time ...
  event_clock a{r};
  grouped_batch g;
  group_by_ad(one, 0, a, 1, g);
  CHECK_FALSE(g.by_ad.at(1)[0].late);
  group_by_ad(two, 1, a, 1, g);
  check(g);
  // ... or both in one fetch: the same outcome.
  event_clock b{r};
  ingest_batch both = one;
  m.first_click = static_cast<std::uint32_t>(both.clicks.size());
  both.messages.push_back(m);
  both.clicks.insert(both.clicks.end(), two.clicks.begin(), two.clicks.end());
  group_by_ad(both, 0, b, 1, g);
  check(g);
  CHECK_FALSE(g.by_ad.at(1)[0].late);
  CHECK(a.watermark() == b.watermark());
}

TEST_CASE("a click on another partition's subject is rejected, never counted, and does not move the watermark",
          "[grouping]") {
  // Partition 3 of 16: ad 19 belongs here, ad 10 belongs to partition 10.
  auto b = make_batch({{1, {19, 10, 19}}}, wall - 60'000);
  b.partition = 3;
  b.clicks[1].event_time_ms = wall;  // would move the watermark if it were taken
  grouped_batch g;
  event_clock clock{window_rules{}};
  group_by_ad(b, 0, clock, 16, g);
  CHECK(g.rejected[outcome::rejected_wrong_partition] == 1);
  CHECK(g.by_ad.count(10) == 0);
  CHECK(g.by_ad.at(19).size() == 2);
  CHECK(g.clicks == 2);
  CHECK(clock.watermark() == wall - 60'000 - 5'000);
  REQUIRE(g.rejections.size() == 1);
  CHECK(g.rejections[0].reason == outcome::rejected_wrong_partition);
  CHECK(g.rejections[0].stream_seq == 1);
}

TEST_CASE("future is judged against the broker's publish time, not the time of delivery", "[grouping][watermark]") {
  // Published an hour ago with an event time 4 minutes after that: not future (skew 5
  // min), although it is delivered now and the wall clock plays no part.
  auto b = make_batch({{1, {1}}}, wall - 3'600'000 + 240'000);
  b.messages[0].publish_ms = wall - 3'600'000;
  grouped_batch g;
  event_clock clock{window_rules{}};
  group_by_ad(b, 0, clock, 1, g);
  CHECK(g.clicks == 1);
  b.messages[0].publish_ms = wall - 3'600'000 - 120'000;  // published 6 minutes before its event time
  event_clock other{window_rules{}};
  group_by_ad(b, 0, other, 1, g);
  CHECK(g.rejected[outcome::rejected_future] == 1);
}

TEST_CASE("an idle-advance marker moves the watermark at its place in the stream", "[grouping][watermark]") {
  window_rules r;
  r.allowed_lateness_ms = 0;
  r.max_out_of_orderness_ms = 0;
  const std::int64_t t = wall - 30 * 60'000;
  // A click at t, then a marker published at t + 3 min with a 30 s idle advance, then a
  // click for minute t: after the marker minute t is final, so that click is late.
  auto b = make_batch({{1, {1}}, {2, {}}, {3, {1}}}, t + 5);
  b.messages[0].publish_ms = t + 10;
  b.messages[1].idle_advance_ms = 30'000;
  b.messages[1].publish_ms = t + 3 * 60'000;
  b.messages[2].publish_ms = t + 3 * 60'000 + 10;
  grouped_batch g;
  event_clock clock{r};
  CHECK(group_by_ad(b, 0, clock, 1, g) == 3);
  CHECK(g.markers == 1);
  CHECK(g.new_messages == 3);
  CHECK(clock.watermark() == t + 3 * 60'000 - 30'000);
  REQUIRE(g.by_ad.at(1).size() == 2);
  CHECK_FALSE(g.by_ad.at(1)[0].late);
  CHECK(g.by_ad.at(1)[1].late);
  CHECK(g.rejected.total() == 0);  // a marker is not an arrival
}

TEST_CASE("a marker right behind a backlog moves nothing", "[grouping][watermark]") {
  window_rules r;
  r.allowed_lateness_ms = 0;
  r.max_out_of_orderness_ms = 0;
  const std::int64_t t = wall - 30 * 60'000;
  // Clicks published up to t + 3 min (a backlog the marker's writer had not read), then
  // its marker: the stream was not quiet for 30 s before it.
  auto b = make_batch({{1, {1}}, {2, {}}, {3, {1}}}, t + 5);
  b.messages[0].publish_ms = t + 3 * 60'000 - 1'000;
  b.messages[1].idle_advance_ms = 30'000;
  b.messages[1].publish_ms = t + 3 * 60'000;
  grouped_batch g;
  event_clock clock{r};
  group_by_ad(b, 0, clock, 1, g);
  CHECK(clock.watermark() == t + 5);
  CHECK_FALSE(g.by_ad.at(1)[1].late);
}

TEST_CASE("the decoder's rejections come first, then this step's, numbered per message", "[grouping]") {
  auto b = make_batch({{7, {1, 1}}});
  b.messages[0].rejected[outcome::rejected_bad_id] = 1;
  b.messages[0].reject_count = 1;
  b.rejects.push_back({outcome::rejected_bad_id, "raw"});
  b.clicks[1].event_time_ms = wall + 24 * 3'600'000;  // future
  grouped_batch g;
  event_clock clock{window_rules{}};
  group_by_ad(b, 0, clock, 1, g);
  REQUIRE(g.rejections.size() == 2);
  CHECK(g.rejections[0].ordinal == 0);
  CHECK(g.rejections[0].reason == outcome::rejected_bad_id);
  CHECK(g.rejections[0].bytes == "raw");
  CHECK(g.rejections[1].ordinal == 1);
  CHECK(g.rejections[1].reason == outcome::rejected_future);
  CHECK(g.rejections[1].stream_seq == 7);
  CHECK(g.rejected.total() == 2);
}
