#include <catch2/catch.hpp>

#include "gateway/live_fanout.hpp"

using namespace adclick;
using namespace std::chrono_literals;

namespace {
live_fanout::filter ads(std::initializer_list<std::uint64_t> ids) {
  live_fanout::filter f;
  f.ads = ids;
  return f;
}
}  // namespace

TEST_CASE("a stream gets the newest value of each minute once, and never an older one after a newer", "[live]") {
  live_fanout fanout{4};
  auto s = fanout.open(ads({7}));
  REQUIRE(s);
  CHECK(fanout.watching(entity::ad, 7));
  CHECK_FALSE(fanout.watching(entity::ad, 8));
  fanout.deliver(entity::ad, 8, {0, 1, bucket_state::open, 0});  // not watched
  fanout.deliver(entity::ad, 7, {0, 1, bucket_state::open, 0});
  fanout.deliver(entity::ad, 7, {0, 2, bucket_state::open, 0});  // coalesced with the first
  fanout.deliver(entity::ad, 7, {60'000, 5, bucket_state::open, 0});
  auto got = s->wait(0ms);
  REQUIRE(got);
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].point.count == 2);
  CHECK((*got)[1].point.count == 5);
  CHECK((*got)[0].seq < (*got)[1].seq);
  // A replay read before those events, queued after them: older, so dropped.
  s->offer({fanout.next_seq(), entity::ad, 7, {0, 1, bucket_state::open, 0}});
  got = s->wait(0ms);
  REQUIRE(got);
  CHECK(got->empty());
  // Finality with the same count is newer (version).
  fanout.deliver(entity::ad, 7, {0, 2, bucket_state::final, 1});
  got = s->wait(0ms);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].point.state == bucket_state::final);
}

TEST_CASE("streams are capped, closed ones stop watching, and close_all ends every wait", "[live]") {
  live_fanout fanout{2};
  auto a = fanout.open(ads({1}));
  auto b = fanout.open(ads({1, 2}));
  CHECK_FALSE(fanout.open(ads({3})));  // the cap
  fanout.close(b);
  CHECK_FALSE(fanout.watching(entity::ad, 2));
  CHECK(fanout.watching(entity::ad, 1));
  auto c = fanout.open(ads({3}));
  REQUIRE(c);
  fanout.close_all();
  CHECK_FALSE(a->wait(10ms));
  CHECK_FALSE(c->wait(10ms));
}
