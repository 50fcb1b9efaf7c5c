#include <catch2/catch.hpp>

#include "actors/core/series_rollup.hpp"

using namespace adclick;

TEST_CASE("minute points roll up into hours and days", "[rollup]") {
  std::vector<series_point> minutes{{0, 1, bucket_state::final, 1},
                                    {59 * minute_ms, 2, bucket_state::final, 1},
                                    {hour_ms, 4, bucket_state::open, 0},
                                    {day_ms + 5 * minute_ms, 8, bucket_state::amended, 3}};
  auto hours = rollup(minutes, granularity::hour);
  REQUIRE(hours.size() == 3);
  CHECK(hours[0].start_ms == 0);
  CHECK(hours[0].count == 3);
  CHECK(hours[0].state == bucket_state::final);
  CHECK(hours[0].version == 1);
  CHECK(hours[1].start_ms == hour_ms);
  CHECK(hours[1].state == bucket_state::open);
  CHECK(hours[2].start_ms == day_ms);
  CHECK(hours[2].state == bucket_state::amended);

  auto days = rollup(minutes, granularity::day);
  REQUIRE(days.size() == 2);
  CHECK(days[0].count == 7);
  CHECK(days[0].state == bucket_state::open);  // any open minute keeps the day open
  CHECK(days[1].count == 8);

  CHECK(rollup(minutes, granularity::minute).size() == minutes.size());
}

TEST_CASE("an hour's version goes up with every amendment of any of its minutes", "[rollup]") {
  // An hour's count is the sum of its minutes': any late click raises it, so its version
  // must rise too. The highest minute version did not when another minute was amended.
  auto hour_of = [](std::uint32_t v1, std::uint32_t v2) {
    std::vector<series_point> minutes{{0, 10 + v1, v1 > 1 ? bucket_state::amended : bucket_state::final, v1},
                                      {minute_ms, 20 + v2, v2 > 1 ? bucket_state::amended : bucket_state::final, v2}};
    auto hours = rollup(minutes, granularity::hour);
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
  CHECK(rollup(open, granularity::hour)[0].version == 0);  // not final: no version yet
}
