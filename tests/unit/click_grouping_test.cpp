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
  auto seq = group_by_ad(make_batch({{1, {7, 8, 7}}, {2, {7}}}), 0, clock, wall, g);
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
  auto seq = group_by_ad(make_batch({{4, {1}}, {5, {1, 2}}, {6, {3}}}), 5, clock, wall, g);
  CHECK(seq == 6);
  CHECK(g.skipped_messages == 2);
  CHECK(g.new_messages == 1);
  CHECK(g.by_ad.size() == 1);
  CHECK(g.by_ad.count(3) == 1);
  CHECK(g.clicks == 1);

  // A batch of only redeliveries changes nothing.
  seq = group_by_ad(make_batch({{6, {3}}}), 6, clock, wall, g);
  CHECK(seq == 6);
  CHECK(g.by_ad.empty());
  CHECK(g.clicks == 0);
}

TEST_CASE("decoder rejections are carried into the outcomes", "[grouping]") {
  auto b = make_batch({{1, {}}, {2, {9}}});
  b.messages[0].rejected[outcome::rejected_malformed] = 1;
  grouped_batch g;
  event_clock clock{window_rules{}};
  group_by_ad(b, 0, clock, wall, g);
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
  fetched_message m{2, 0, 3, {}};
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
    CHECK(g.rejected_clicks.size() == 2);
    REQUIRE(g.by_ad.count(2) == 1);
    CHECK(g.by_ad.at(2).size() == 1);
    CHECK(g.by_ad.at(2)[0].late);
  };
  // Fetched one message at a time ...
  event_clock a{r};
  grouped_batch g;
  group_by_ad(one, 0, a, wall, g);
  CHECK_FALSE(g.by_ad.at(1)[0].late);
  group_by_ad(two, 1, a, wall, g);
  check(g);
  // ... or both in one fetch: the same outcome.
  event_clock b{r};
  ingest_batch both = one;
  both.messages.push_back({2, static_cast<std::uint32_t>(both.clicks.size()), 3, {}});
  both.clicks.insert(both.clicks.end(), two.clicks.begin(), two.clicks.end());
  group_by_ad(both, 0, b, wall, g);
  check(g);
  CHECK_FALSE(g.by_ad.at(1)[0].late);
  CHECK(a.watermark() == b.watermark());
}
