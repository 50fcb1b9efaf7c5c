#include <catch2/catch.hpp>

#include "click_grouping.hpp"

using namespace adclick;

namespace {
/// A batch of messages; each message is a list of ad ids (one click each).
ingest_batch make_batch(const std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>>& msgs) {
  ingest_batch b;
  for (const auto& [seq, ads] : msgs) {
    fetched_message m;
    m.stream_seq = seq;
    m.first_click = static_cast<std::uint32_t>(b.clicks.size());
    m.click_count = static_cast<std::uint32_t>(ads.size());
    for (auto ad : ads) {
      click c;
      c.ad_id = ad;
      c.event_time_ms = 1000;
      b.clicks.push_back(c);
    }
    b.messages.push_back(m);
  }
  return b;
}
}  // namespace

TEST_CASE("clicks are grouped by ad, one entry per ad", "[grouping]") {
  grouped_batch g;
  auto seq = group_by_ad(make_batch({{1, {7, 8, 7}}, {2, {7}}}), 0, g);
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
  auto seq = group_by_ad(make_batch({{4, {1}}, {5, {1, 2}}, {6, {3}}}), 5, g);
  CHECK(seq == 6);
  CHECK(g.skipped_messages == 2);
  CHECK(g.new_messages == 1);
  CHECK(g.by_ad.size() == 1);
  CHECK(g.by_ad.count(3) == 1);
  CHECK(g.clicks == 1);

  // A batch of only redeliveries changes nothing.
  seq = group_by_ad(make_batch({{6, {3}}}), 6, g);
  CHECK(seq == 6);
  CHECK(g.by_ad.empty());
  CHECK(g.clicks == 0);
}

TEST_CASE("decoder rejections are carried into the outcomes", "[grouping]") {
  auto b = make_batch({{1, {}}, {2, {9}}});
  b.messages[0].rejected[outcome::rejected_malformed] = 1;
  grouped_batch g;
  group_by_ad(b, 0, g);
  CHECK(g.rejected[outcome::rejected_malformed] == 1);
  CHECK(g.rejected.total() == 1);
  CHECK(g.clicks == 1);
}
