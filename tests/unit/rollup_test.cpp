#include <catch2/catch.hpp>

#include "actors/core/series_rollup.hpp"

using namespace adclick;

TEST_CASE("minute points roll up into hours and days", "[rollup]") {
  std::vector<series_point> minutes{{0, 1, bucket_state::final, 1},
                                    {59 * minute_ms, 2, bucket_state::final, 0},
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
