#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "actors/core/delta_merge.hpp"

using namespace adclick;

namespace {
click_id id_of(std::uint64_t n) {
  click_id id{};
  for (int i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return id;
}
ad_delta delta_of(std::uint64_t ad, std::vector<minute_count> minutes, std::vector<minute_ids> ids, std::uint64_t counted,
                  std::uint64_t duplicates, std::uint64_t amended) {
  ad_delta d;
  d.ad_id = ad;
  d.minutes = std::move(minutes);
  d.ids = std::move(ids);
  d.counted = counted;
  d.duplicates = duplicates;
  d.amended = amended;
  return d;
}
}  // namespace

TEST_CASE("a carried delta and a new one for the same minute keep both ids in one list", "[merge]") {
  ad_delta carried = delta_of(10, {{0, 1, bucket_state::open, 0}}, {{0, {id_of(1)}}}, 1, 0, 0);
  ad_delta fresh = delta_of(10, {{0, 2, bucket_state::open, 0}}, {{0, {id_of(2)}}}, 1, 0, 0);
  merge_delta(carried, std::move(fresh));
  REQUIRE(carried.minutes.size() == 1);
  CHECK(carried.minutes[0].count == 2);  // the newer absolute value
  REQUIRE(carried.ids.size() == 1);      // one chunk for the minute
  CHECK(carried.ids[0].ids == std::vector<click_id>{id_of(1), id_of(2)});
  CHECK(carried.counted == 2);
}

TEST_CASE("merging deltas equals the state a single delta would have shown", "[merge]") {
  std::mt19937_64 rng{7};
  for (int run = 0; run < 500; ++run) {
    // A reference: the latest bucket per minute, every id per minute, summed counters.
    std::map<std::int64_t, minute_count> buckets;
    std::map<std::int64_t, std::set<click_id>> ids;
    std::map<std::int64_t, std::string> filters, runs;
    std::uint64_t counted = 0, dups = 0, amended = 0, next_id = 1;
    ad_delta merged = delta_of(5, {}, {}, 0, 0, 0);
    const int deltas = 1 + static_cast<int>(rng() % 4);
    for (int d = 0; d < deltas; ++d) {
      ad_delta x = delta_of(5, {}, {}, rng() % 5, rng() % 5, rng() % 3);
      counted += x.counted;
      dups += x.duplicates;
      amended += x.amended;
      for (std::int64_t minute = 0; minute < 4; ++minute) {
        if (rng() % 2) {
          minute_count b{minute * 60'000, rng() % 100, static_cast<bucket_state>(rng() % 3), static_cast<std::uint32_t>(rng() % 4)};
          x.minutes.push_back(b);
          buckets[b.minute_ms] = b;
        }
        if (rng() % 2) {
          minute_ids m{minute * 60'000, {}};
          for (auto n = rng() % 4; n > 0; --n) m.ids.push_back(id_of(next_id++));
          std::sort(m.ids.begin(), m.ids.end());
          ids[m.minute_ms].insert(m.ids.begin(), m.ids.end());
          x.ids.push_back(std::move(m));
        }
        if (rng() % 3 == 0) {
          minute_filter f{minute * 60'000, std::to_string(rng())};
          filters[f.minute_ms] = f.bytes;
          x.filters.push_back(f);
        }
        if (rng() % 3 == 0) {  // a runs row is whole: the newer one wins
          minute_runs r{minute * 60'000, std::to_string(rng())};
          runs[r.minute_ms] = r.bytes;
          x.runs.push_back(r);
        }
      }
      merge_delta(merged, std::move(x));
    }
    CHECK(merged.counted == counted);
    CHECK(merged.duplicates == dups);
    CHECK(merged.amended == amended);
    REQUIRE(merged.minutes.size() == buckets.size());
    for (const auto& b : merged.minutes) {
      CHECK(b.count == buckets[b.minute_ms].count);
      CHECK(b.state == buckets[b.minute_ms].state);
      CHECK(b.version == buckets[b.minute_ms].version);
    }
    REQUIRE(merged.ids.size() == ids.size());
    for (const auto& m : merged.ids) {
      CHECK(std::is_sorted(m.ids.begin(), m.ids.end()));
      CHECK(std::set<click_id>(m.ids.begin(), m.ids.end()) == ids[m.minute_ms]);
      CHECK(m.ids.size() == ids[m.minute_ms].size());
    }
    REQUIRE(merged.filters.size() == filters.size());
    for (const auto& f : merged.filters) CHECK(f.bytes == filters[f.minute_ms]);
    REQUIRE(merged.runs.size() == runs.size());
    for (const auto& r : merged.runs) CHECK(r.bytes == runs[r.minute_ms]);
  }
}
