#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "actors/core/id_runs.hpp"
#include "tools/click_generator.hpp"

using namespace adclick;

TEST_CASE("the generator is deterministic for a seed", "[generator]") {
  generator_options o;
  o.ads = 100;
  o.zipf = 1.1;
  o.seed = 99;
  o.start_ms = 1'000'000;
  click_generator a{o}, b{o};
  for (int i = 0; i < 1000; ++i) {
    auto x = a.next(), y = b.next();
    REQUIRE(x.id == y.id);
    REQUIRE(x.ad_id == y.ad_id);
    REQUIRE(x.event_time_ms == y.event_time_ms);
  }
  o.seed = 100;
  click_generator c{o};
  click_generator d{generator_options{100, 1.1, 99, 1'000'000, 10000}};
  CHECK(c.next().id != d.next().id);
}

TEST_CASE("ads stay in range, Zipf favours low ranks, time advances at event_rate", "[generator]") {
  generator_options o;
  o.ads = 50;
  o.zipf = 1.2;
  o.event_rate = 1000;
  o.start_ms = 0;
  click_generator g{o};
  std::map<std::uint64_t, int> hits;
  click last;
  for (int i = 0; i < 20000; ++i) {
    last = g.next();
    REQUIRE(last.ad_id >= 1);
    REQUIRE(last.ad_id <= 50);
    hits[last.ad_id]++;
  }
  CHECK(hits[1] > hits[2]);
  CHECK(hits[2] > hits[10]);
  CHECK(last.event_time_ms == 19'999);  // 20000 clicks at 1000/s
}

TEST_CASE("sequenced ids are unique across ads and seeds, and count on per (ad, minter)", "[generator]") {
  // DESIGN: a click id is globally unique. The minter is per (server, boot, ad), so two
  // ads' counters never mint the same id; another seed is another fleet.
  std::set<click_id> seen;
  std::size_t n = 0;
  for (std::uint64_t seed : {1, 2}) {
    generator_options o;
    o.ads = 50;
    o.seed = seed;
    o.sequenced = true;
    o.minters = 4;
    click_generator g{o};
    std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint32_t> next;  // (ad, minter) -> sequence
    for (int i = 0; i < 20'000; ++i, ++n) {
      const auto c = g.next();
      const auto s = as_sequenced(c.id);
      REQUIRE(s);
      CHECK(s->sequence == next[{c.ad_id, s->minter}]++);  // runs per (ad, minter)
      seen.insert(c.id);
    }
    CHECK(next.size() == 50 * 4);
  }
  CHECK(seen.size() == n);
}
