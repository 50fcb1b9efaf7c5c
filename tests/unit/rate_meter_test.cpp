#include <catch2/catch.hpp>

#include "actors/core/rate_meter.hpp"

using namespace adclick;

TEST_CASE("a rate meter follows the recent rate and forgets an old burst", "[rate]") {
  rate_meter m;
  const std::int64_t t = 1'000'000;
  CHECK(m.per_second(t) == 0);
  // 100 clicks a second for 30 s.
  for (int s = 0; s < 30; ++s) m.add(t + s * 1000, 100);
  CHECK(m.per_second(t + 30'000) == Approx(100).epsilon(0.15));
  // Then silence: half a window later the estimate halves, two windows later it is zero.
  CHECK(m.per_second(t + 35'000) < 80);
  CHECK(m.per_second(t + 35'000) > 20);
  CHECK(m.per_second(t + 50'000) == 0);
  // A burst after a long pause counts only itself.
  m.add(t + 500'000, 40);
  CHECK(m.per_second(t + 500'000) == Approx(4.0).margin(0.5));
}
