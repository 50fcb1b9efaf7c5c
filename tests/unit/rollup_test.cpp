#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "actors/core/group_rollups.hpp"
#include "actors/core/minute_counts.hpp"
#include "actors/core/rollup.hpp"

using namespace adclick;

TEST_CASE("minute points roll up into hours and days", "[rollup]") {
  std::vector<series_point> minutes{{0, 1, bucket_state::final, 1},
                                    {59 * minute_ms, 2, bucket_state::final, 1},
                                    {hour_ms, 4, bucket_state::open, 0},
                                    {day_ms + 5 * minute_ms, 8, bucket_state::amended, 3}};
  auto hours = rollup(minutes, granularity::hour, 2 * day_ms);
  REQUIRE(hours.size() == 3);
  CHECK(hours[0].start_ms == 0);
  CHECK(hours[0].count == 3);
  CHECK(hours[0].state == bucket_state::final);
  CHECK(hours[0].version == 1);
  CHECK(hours[1].start_ms == hour_ms);
  CHECK(hours[1].state == bucket_state::open);
  CHECK(hours[2].start_ms == day_ms);
  CHECK(hours[2].state == bucket_state::amended);

  auto days = rollup(minutes, granularity::day, 2 * day_ms);
  REQUIRE(days.size() == 2);
  CHECK(days[0].count == 7);
  CHECK(days[0].state == bucket_state::open);  // any open minute keeps the day open
  CHECK(days[1].count == 8);

  CHECK(rollup(minutes, granularity::minute, 2 * day_ms).size() == minutes.size());
}

TEST_CASE("an hour's version goes up with every amendment of any of its minutes", "[rollup]") {
  // An hour's count is the sum of its minutes': any late click raises it, so its version
  // must rise too. The highest minute version did not when another minute was amended.
  auto hour_of = [](std::uint32_t v1, std::uint32_t v2) {
    std::vector<series_point> minutes{{0, 10 + v1, v1 > 1 ? bucket_state::amended : bucket_state::final, v1},
                                      {minute_ms, 20 + v2, v2 > 1 ? bucket_state::amended : bucket_state::final, v2}};
    auto hours = rollup(minutes, granularity::hour, 2 * day_ms);
    REQUIRE(hours.size() == 1);
    return hours[0];
  };
  CHECK(hour_of(1, 1).version == 1);  // final, never amended
  CHECK(hour_of(1, 1).state == bucket_state::final);
  CHECK(hour_of(3, 1).version == 3);  // two amendments
  CHECK(hour_of(3, 2).version == 4);  // and one more in the other minute: the count rose
  CHECK(hour_of(3, 2).count > hour_of(3, 1).count);
  CHECK(hour_of(3, 2).state == bucket_state::amended);
  std::vector<series_point> open{{0, 5, bucket_state::final, 1}, {minute_ms, 1, bucket_state::open, 0}};
  CHECK(rollup(open, granularity::hour, hour_ms)[0].version == 0);  // not final: no version yet
}

TEST_CASE("an hour is open until the watermark has passed its end, even with every minute final", "[rollup]") {
  std::vector<series_point> minutes{{0, 3, bucket_state::final, 1}};
  CHECK(rollup(minutes, granularity::hour, 30 * minute_ms)[0].state == bucket_state::open);
  CHECK(rollup(minutes, granularity::hour, 30 * minute_ms)[0].version == 0);
  CHECK(rollup(minutes, granularity::hour, hour_ms)[0].state == bucket_state::final);
  CHECK(rollup(minutes, granularity::hour, hour_ms)[0].version == 1);
}

namespace {

/// The minutes a minute_counts holds, as its durable store would after each take.
std::vector<series_point> as_points(const std::map<std::int64_t, minute_count>& minutes) {
  std::vector<series_point> out;
  for (const auto& [m, v] : minutes)
    if (v.count != 0) out.push_back({m, v.count, v.state, v.version});
  return out;
}

}  // namespace

TEST_CASE("stored hours, days and campaign shares always equal the sum of their minutes", "[rollup]") {
  // A random life of one ad: clicks, late clicks, finalizations, takes (checkpoints), drops
  // of settled state and reloads from the "store". After every take, the stored hours and
  // days (kept by minute_counts as minutes change) and the campaign shares (group_rollups
  // fed only by the minute moves) must equal rollup() of the stored minutes.
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng{seed};
    std::map<std::int64_t, minute_count> stored_minutes;
    std::map<std::pair<granularity, std::int64_t>, rollup_value> stored_rollups;
    std::map<group_rollups::key, rollup_value> stored_groups;
    minute_counts m;
    group_rollups groups;
    std::int64_t final_before = 0;
    const std::int64_t span = 3 * day_ms;
    auto ensure = [&](std::int64_t minute) {
      if (m.has(minute)) return;
      for (auto g : {granularity::hour, granularity::day}) {
        const auto start = bucket_start(minute, bucket_width(g));
        if (!m.has_rollup(g, start)) m.seed_rollup(g, start, stored_rollups[{g, start}]);
      }
      auto i = stored_minutes.find(minute);
      m.seed(i == stored_minutes.end() ? minute_count{minute, 0, bucket_state::open, 0} : i->second);
    };
    auto seed_group = [&](const group_rollups::key& k) -> std::optional<rollup_value> { return stored_groups[k]; };
    for (int step = 0; step < 400; ++step) {
      const auto r = rng() % 10;
      const std::int64_t minute = static_cast<std::int64_t>(rng() % (span / minute_ms)) * minute_ms;
      if (r < 6) {
        ensure(minute);
        if (minute < final_before) m.add_late(minute);
        else m.add(minute);
      } else if (r < 7) {
        final_before = std::min(span, final_before + static_cast<std::int64_t>(rng() % 180) * minute_ms);
        for (auto t = 0LL; t < final_before; t += minute_ms)
          if (m.has(t)) {
            m.finalize_before(final_before);
            break;
          }
      } else {
        for (const auto& c : m.take_changes()) stored_minutes[c.minute_ms] = c;
        for (const auto& c : m.take_rollup_changes()) stored_rollups[{c.gran, c.start_ms}] = c.value;
        for (const auto& move : m.take_moves()) REQUIRE(groups.apply(7, 9, move, seed_group));
        for (const auto& g : groups.take_changes()) stored_groups[{g.kind, g.id, g.gran, g.start_ms}] = g.value;
        if (rng() % 3 == 0) {
          m.drop_settled();
          groups.drop_settled(rng() % 3);
        }
        const auto points = as_points(stored_minutes);
        for (auto g : {granularity::hour, granularity::day}) {
          for (const auto& p : rollup(points, g, final_before)) {
            const auto& v = stored_rollups[{g, p.start_ms}];
            INFO("seed " << seed << " step " << step << " " << to_string(g) << " " << p.start_ms);
            CHECK(point_of(p.start_ms, bucket_width(g), v, final_before).count == p.count);
            CHECK(point_of(p.start_ms, bucket_width(g), v, final_before).state == p.state);
            CHECK(point_of(p.start_ms, bucket_width(g), v, final_before).version == p.version);
            for (auto kind : {entity::campaign, entity::advertiser}) {
              const auto& gv = stored_groups[{kind, kind == entity::campaign ? 7u : 9u, g, p.start_ms}];
              CHECK(gv == v);
            }
          }
        }
        for (const auto& p : points) {
          const auto& gv = stored_groups[{entity::campaign, 7, granularity::minute, p.start_ms}];
          CHECK(gv == contribution({p.start_ms, p.count, p.state, p.version}));
        }
      }
    }
  }
}

TEST_CASE("id 0 names no campaign: nothing is rolled up for it", "[rollup]") {
  group_rollups groups;
  auto seed = [](const group_rollups::key&) -> std::optional<rollup_value> { return rollup_value{}; };
  REQUIRE(groups.apply(0, 5, {0, 1, 1, 0}, seed));
  auto changes = groups.take_changes();
  REQUIRE(changes.size() == 3);
  for (const auto& c : changes) CHECK(c.kind == entity::advertiser);
  auto failing = [](const group_rollups::key&) -> std::optional<rollup_value> { return std::nullopt; };
  CHECK_FALSE(groups.apply(3, 5, {minute_ms, 1, 1, 0}, failing));
  CHECK(groups.take_changes().empty());  // a failed seed applies nothing
}
