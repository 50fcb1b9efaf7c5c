#include <catch2/catch.hpp>

#include "common/time.hpp"

using namespace adclick;

TEST_CASE("bucket_start floors toward minus infinity", "[time]") {
  CHECK(minute_of(0) == 0);
  CHECK(minute_of(59'999) == 0);
  CHECK(minute_of(60'000) == 60'000);
  CHECK(minute_of(-1) == -60'000);
  CHECK(minute_of(-60'000) == -60'000);
  CHECK(bucket_start(1'764'300'123'456, hour_ms) == 1'764'298'800'000);
  CHECK(bucket_start(1'764'300'123'456, day_ms) == 1'764'288'000'000);
}

TEST_CASE("parse_time reads epoch milliseconds", "[time]") {
  CHECK(parse_time("0") == 0);
  CHECK(parse_time("1764300000000") == 1'764'300'000'000);
  CHECK(parse_time("-5") == -5);
  CHECK_FALSE(parse_time(""));
  CHECK_FALSE(parse_time("-"));
  CHECK_FALSE(parse_time("12a"));
}

TEST_CASE("parse_time reads RFC 3339", "[time]") {
  CHECK(parse_time("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_time("2025-11-28T03:20:00Z") == 1'764'300'000'000);
  CHECK(parse_time("2025-11-28T03:20:00.250Z") == 1'764'300'000'250);
  CHECK(parse_time("2025-11-28T03:20:00.5Z") == 1'764'300'000'500);
  CHECK(parse_time("2025-11-28T04:20:00+01:00") == 1'764'300'000'000);
  CHECK(parse_time("2025-11-28T02:50:00-00:30") == 1'764'300'000'000);
  CHECK(parse_time("2024-02-29T00:00:00Z") == 1'709'164'800'000);  // leap day
  CHECK_FALSE(parse_time("2025-11-28T03:20:00"));        // no zone
  CHECK_FALSE(parse_time("2025-13-28T03:20:00Z"));       // month 13
  CHECK_FALSE(parse_time("2025-11-28T03:20:00.Z"));      // empty fraction
  CHECK_FALSE(parse_time("2025-11-28T03:20:00Zjunk"));
  CHECK_FALSE(parse_time("yesterday"));
}

TEST_CASE("format_time and parse_time round-trip", "[time]") {
  for (std::int64_t t : {0LL, 1'764'300'000'250LL, 951'782'400'000LL, -1000LL}) {
    INFO(t);
    CHECK(parse_time(format_time(t)) == t);
  }
  CHECK(format_time(1'764'300'000'250) == "2025-11-28T03:20:00.250Z");
}
