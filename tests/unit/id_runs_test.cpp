#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "actors/core/id_runs.hpp"

using namespace adclick;

namespace {
constexpr std::int64_t M1 = 60'000, M5 = 5 * 60'000, M6 = 6 * 60'000;  // minute starts
}  // namespace

TEST_CASE("sequenced ids: the layout, read from the bytes alone", "[dedup]") {
  const sequenced_id s{0x0102030405060708ULL, 0xA0B0C0D0U};
  const auto id = to_click_id(s);
  CHECK(id == click_id{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0xA0, 0xB0, 0xC0, 0xD0});
  REQUIRE(as_sequenced(id));
  CHECK(*as_sequenced(id) == s);
  // Any of bytes 8 to 11 set: not the layout (a sequence past 2^32, or a random id).
  for (int b = 8; b < 12; ++b) {
    auto other = id;
    other[b] = 1;
    CHECK_FALSE(as_sequenced(other));
  }
  // A UUIDv4 never is: its variant bits make byte 8 at least 0x80.
  click_id uuid{};
  uuid[8] = 0x80;
  CHECK_FALSE(as_sequenced(uuid));
}

TEST_CASE("id_runs keeps consecutive sequences as one run, and merges a filled gap", "[dedup]") {
  id_runs r;
  for (std::uint32_t s = 0; s < 1000; ++s) REQUIRE(r.insert(M5, {7, s}));
  CHECK(r.runs() == 1);
  CHECK(r.size() == 1000);
  CHECK_FALSE(r.insert(M5, {7, 999}));
  CHECK_FALSE(r.insert(M5, {7, 0}));
  CHECK(r.insert(M5, {7, 1001}));  // a gap: two runs
  CHECK(r.runs() == 2);
  CHECK_FALSE(r.contains(M5, {7, 1000}));
  CHECK(r.insert(M5, {7, 1000}));  // filled: one again
  CHECK(r.runs() == 1);
  CHECK(r.contains(M5, {7, 1000}));
  // The same sequence of another minter, or of the same minter in another minute, is
  // another click.
  CHECK(r.insert(M5, {8, 10}));
  CHECK(r.insert(M6, {7, 10}));
  CHECK(r.runs() == 3);
  // The ends of the sequence space.
  CHECK(r.insert(M5, {9, UINT32_MAX}));
  CHECK(r.insert(M5, {9, 0}));
  CHECK(r.runs() == 5);  // not joined across the wrap
  CHECK(r.contains(M5, {9, UINT32_MAX}));
  CHECK_FALSE(r.contains(M5, {9, 1}));
}

TEST_CASE("id_runs against a plain set on random streams, with drops", "[dedup][model]") {
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    INFO("seed " << seed);
    std::mt19937_64 rng{seed};
    id_runs runs;
    std::set<std::tuple<std::int64_t, std::uint64_t, std::uint32_t>> model;
    // Few minters, each counting on as event time moves on (one click in 20 a minute
    // late), with gaps (a click that never came), repeats of recent clicks (same minute:
    // a republish carries its event time) and now and then a stray far away.
    std::map<std::uint64_t, std::uint32_t> counter;
    std::vector<std::tuple<std::int64_t, std::uint64_t, std::uint32_t>> recent;
    for (int step = 0; step < 200000; ++step) {
      std::int64_t minute = step / 35000;
      if (minute > 0 && rng() % 20 == 0) --minute;
      minute *= 60'000;
      std::uint64_t minter = (rng() % 5) * 0x1000000000001ULL;
      std::uint32_t seq;
      if (!recent.empty() && rng() % 5 == 0) {
        std::tie(minute, minter, seq) = recent[rng() % recent.size()];
      } else {
        auto& c = counter[minter];
        if (rng() % 50 == 0) ++c;  // a gap
        seq = c++;
        if (rng() % 1000 == 0) seq = static_cast<std::uint32_t>(rng());
        if (recent.size() < 500) recent.emplace_back(minute, minter, seq);
        else recent[rng() % recent.size()] = {minute, minter, seq};
      }
      const bool fresh = model.emplace(minute, minter, seq).second;
      REQUIRE(runs.insert(minute, {minter, seq}) == fresh);
      if (rng() % 20000 == 0) {  // a minute leaves
        runs.drop(minute);
        for (auto it = model.begin(); it != model.end();)
          it = std::get<0>(*it) == minute ? model.erase(it) : std::next(it);
      }
      if (step % 997 == 0) {
        REQUIRE(runs.size() == model.size());
        const std::int64_t probe_minute = static_cast<std::int64_t>(rng() % 7) * 60'000;
        const std::uint64_t probe_minter = (rng() % 6) * 0x1000000000001ULL;
        const auto probe_seq = static_cast<std::uint32_t>(rng() % (counter[probe_minter] + 2));
        REQUIRE(runs.contains(probe_minute, {probe_minter, probe_seq}) ==
                (model.count({probe_minute, probe_minter, probe_seq}) == 1));
      }
    }
    // Every minute's ids, in order, as the model has them.
    for (std::int64_t minute = 0; minute < 6 * 60'000; minute += 60'000) {
      std::vector<sequenced_id> expected;
      for (const auto& [m, minter, seq] : model)
        if (m == minute) expected.push_back({minter, seq});
      REQUIRE(runs.ids(minute) == expected);
      REQUIRE(runs.size(minute) == expected.size());
      REQUIRE(runs.has(minute) == !expected.empty());
    }
    // Far fewer runs than ids: what makes them cheap.
    CHECK(runs.runs() * 5 < runs.size());
  }
}

TEST_CASE("id_runs gives its memory back when its minutes leave", "[dedup]") {
  id_runs r;
  for (std::uint32_t s = 0; s < 100; s += 2) r.insert(M1, {s % 3, s});
  CHECK(r.memory_bytes() > 0);
  r.drop(M1);
  CHECK(r.size() == 0);
  CHECK(r.memory_bytes() == 0);
  CHECK_FALSE(r.has(M1));
}

TEST_CASE("id_runs: a span merges every run it overlaps or touches, at once", "[dedup]") {
  id_runs r;
  for (std::uint32_t q : {10, 20, 30, 40}) r.insert(M1, {7, q});
  r.insert(M1, {8, 25});  // another minter's, in between by sequence: untouched
  r.insert_span(M1, {7, 19, 31});  // touches 20 and 30, swallows them, reaches 19..31
  CHECK(r.spans(M1) == std::vector<id_runs::span>{{7, 10, 10}, {7, 19, 31}, {7, 40, 40}, {8, 25, 25}});
  r.insert_span(M1, {7, 11, 18});  // fills the gap between 10 and 19: one run
  CHECK(r.spans(M1) == std::vector<id_runs::span>{{7, 10, 31}, {7, 40, 40}, {8, 25, 25}});
  r.insert_span(M1, {7, 32, 39});
  CHECK(r.spans(M1) == std::vector<id_runs::span>{{7, 10, 40}, {8, 25, 25}});
  CHECK(r.size() == 32);
  // The whole sequence space is one span and costs one run, not four billion inserts.
  r.insert_span(M5, {9, 0, UINT32_MAX});
  CHECK(r.size(M5) == std::size_t{1} << 32);
  CHECK(r.contains(M5, {9, 123456789}));
  CHECK_FALSE(r.insert(M5, {9, UINT32_MAX}));
}

TEST_CASE("id_runs: spans against a plain set, and minters renumbered while runs live", "[dedup][model]") {
  std::mt19937_64 rng{42};
  id_runs runs;
  std::set<std::tuple<std::int64_t, std::uint64_t, std::uint32_t>> model;
  for (int step = 0; step < 20000; ++step) {
    // Each minute has minters of its own (so that drops leave minters unused and the
    // others are renumbered while their runs live), and a few shared ones.
    const std::int64_t minute = static_cast<std::int64_t>(rng() % 8) * 60'000;
    const std::uint64_t minter = rng() % 3 == 0 ? rng() % 4 : 100 + static_cast<std::uint64_t>(minute / 60'000) * 10 + rng() % 3;
    const auto first = static_cast<std::uint32_t>(rng() % 200);
    const auto last = first + static_cast<std::uint32_t>(rng() % (rng() % 4 == 0 ? 30 : 3));
    if (rng() % 2) {
      runs.insert_span(minute, {minter, first, last});
      for (std::uint64_t q = first; q <= last; ++q) model.emplace(minute, minter, static_cast<std::uint32_t>(q));
    } else {
      REQUIRE(runs.insert(minute, {minter, first}) == model.emplace(minute, minter, first).second);
    }
    if (rng() % 500 == 0) {
      const std::int64_t gone = static_cast<std::int64_t>(rng() % 8) * 60'000;
      runs.drop(gone);
      for (auto it = model.begin(); it != model.end();) it = std::get<0>(*it) == gone ? model.erase(it) : std::next(it);
    }
    if (step % 199 == 0) {
      for (std::int64_t minute = 0; minute < 8 * 60'000; minute += 60'000) {
        std::vector<sequenced_id> expected;
        for (const auto& [m, mt, q] : model)
          if (m == minute) expected.push_back({mt, q});
        REQUIRE(runs.ids(minute) == expected);
      }
      REQUIRE(runs.size() == model.size());
    }
  }
}

TEST_CASE("id_runs: a touched minute is in memory with no ids, and an empty one can go", "[dedup]") {
  id_runs r;
  r.touch(M1);
  CHECK(r.has(M1));
  CHECK(r.size(M1) == 0);
  r.drop_if_empty(M1);
  CHECK_FALSE(r.has(M1));
  r.insert(M1, {1, 1});
  r.drop_if_empty(M1);  // not empty: stays
  CHECK(r.contains(M1, {1, 1}));
  // A minute before 1970 has a key of its own.
  r.insert(-60'000, {1, 1});
  CHECK(r.contains(-60'000, {1, 1}));
  CHECK(r.size(0) == 0);
  CHECK(r.size(M1) == 1);
}
