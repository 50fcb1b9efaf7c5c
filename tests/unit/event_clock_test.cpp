#include <catch2/catch.hpp>

#include <random>
#include <tuple>

#include "common/time.hpp"
#include "actors/core/event_clock.hpp"

using namespace adclick;

namespace {
constexpr std::int64_t t0 = 1'764'300'000'000;  // a minute boundary
constexpr std::int64_t wall = t0 + 3'600'000;
window_rules rules() {
  window_rules r;
  r.max_out_of_orderness_ms = 5'000;
  r.allowed_lateness_ms = 10'000;
  r.dedup_horizon_ms = 600'000;
  r.max_future_skew_ms = 60'000;
  return r;
}
}  // namespace

TEST_CASE("before any click nothing is final or too old", "[time][watermark]") {
  event_clock c{rules()};
  CHECK(c.classify(0, wall) == arrival::on_time);
  CHECK(c.classify(t0, wall) == arrival::on_time);
  CHECK(c.classify(wall + 60'001, wall) == arrival::future);
  CHECK(c.classify(wall + 60'000, wall) == arrival::on_time);
}

TEST_CASE("a minute becomes final when the watermark passes its end plus the lateness", "[time][watermark]") {
  event_clock c{rules()};
  c.observe(t0 + 60'000 + 10'000 + 5'000 - 1);  // watermark = t0 + 70s - 1 ms
  CHECK(c.watermark() == t0 + 69'999);
  CHECK(c.final_before() == t0);                 // minute t0 not final yet
  CHECK(c.classify(t0 + 59'999, wall) == arrival::on_time);
  c.observe(t0 + 75'000);                        // watermark = t0 + 70 s exactly
  CHECK(c.final_before() == t0 + 60'000);
  CHECK(c.classify(t0 + 59'999, wall) == arrival::late);
  CHECK(c.classify(t0 + 60'000, wall) == arrival::on_time);
  // Out of order within the bound never goes late.
  CHECK(c.classify(t0 + 75'000 - 5'000, wall) == arrival::on_time);
}

TEST_CASE("clicks beyond the dedup horizon behind the watermark are too old", "[time][watermark]") {
  event_clock c{rules()};
  c.observe(t0 + 1'000'000);  // watermark t0 + 995 s; horizon 600 s
  CHECK(c.classify(t0 + 395'000, wall) == arrival::late);
  CHECK(c.classify(t0 + 394'999, wall) == arrival::too_old);
}

TEST_CASE("every minute before the first open dedup minute is wholly too old, and that minute is not",
          "[time][watermark][retention]") {
  // Retention deletes the ids of the minutes before first_open_dedup_minute: no click of
  // them may be accepted, or a repeat of a deleted id would count twice.
  std::mt19937_64 rng{5};
  for (int i = 0; i < 2000; ++i) {
    auto r = rules();
    r.dedup_horizon_ms = 60'000 + static_cast<std::int64_t>(rng() % 7'200'000);
    event_clock c{r};
    const auto newest = t0 - 3'600'000 + static_cast<std::int64_t>(rng() % 7'200'000);
    c.observe(newest);
    const auto floor = r.first_open_dedup_minute(c.watermark());
    REQUIRE(floor % 60'000 == 0);
    REQUIRE(c.classify(floor - 1, newest) == arrival::too_old);  // the last ms of the minute before
    REQUIRE(c.classify(floor - 60'000, newest) == arrival::too_old);
    REQUIRE(c.classify(floor + 59'999, newest) != arrival::too_old);  // some of the floor minute counts
  }
  window_rules r;
  CHECK(r.first_open_dedup_minute(-1) == -60'000 - r.dedup_horizon_ms);  // floors below zero too
}

TEST_CASE("every bucket before the first one retention keeps is wholly too old, and that bucket is not past its "
          "retention",
          "[time][watermark][retention]") {
  // Retention deletes the count rows before count_retention::retained_from: no click may be
  // counted into them any more, or a deleted bucket would come back with part of its count.
  std::mt19937_64 rng{6};
  for (int i = 0; i < 3000; ++i) {
    auto r = rules();
    r.dedup_horizon_ms = 60'000 + static_cast<std::int64_t>(rng() % 7'200'000);
    count_retention keep;
    keep.minute_ms = r.dedup_horizon_ms + static_cast<std::int64_t>(rng() % (3 * 86'400'000LL));
    keep.hour_ms = keep.minute_ms + static_cast<std::int64_t>(rng() % (3 * 86'400'000LL));
    keep.day_ms = keep.hour_ms + static_cast<std::int64_t>(rng() % (3 * 86'400'000LL));
    event_clock c{r};
    const auto newest = t0 - 5 * 86'400'000LL + static_cast<std::int64_t>(rng() % (10 * 86'400'000ULL));
    c.observe(newest);
    for (auto [g, width, period] : {std::tuple{granularity::minute, minute_ms, keep.minute_ms},
                                    std::tuple{granularity::hour, hour_ms, keep.hour_ms},
                                    std::tuple{granularity::day, day_ms, keep.day_ms}}) {
      const auto kept = keep.retained_from(g, c.watermark());
      REQUIRE(kept);
      REQUIRE(*kept % width == 0);
      REQUIRE(c.classify(*kept - 1, newest) == arrival::too_old);  // the last ms of the bucket before
      REQUIRE(*kept + width > c.watermark() - period);              // the kept bucket ends inside it
      REQUIRE(*kept <= c.watermark() - period);
    }
  }
  count_retention keep;
  CHECK(keep.retained_from(granularity::minute, -1) == -60'000 - keep.minute_ms);  // floors below zero too
  CHECK_FALSE(keep.retained_from(granularity::day, t0));                         // days: forever by default
  CHECK_FALSE(keep.retained_from(granularity::minute, window_rules::no_watermark));
}

TEST_CASE("the watermark never goes back, and restores and idle-advances forward", "[time][watermark]") {
  event_clock c{rules()};
  c.observe(t0 + 100'000);
  c.observe(t0);  // an older click
  CHECK(c.watermark() == t0 + 95'000);
  CHECK_FALSE(c.idle_marker(t0 + 80'000, 30'000));  // behind the watermark: nothing moves
  CHECK(c.watermark() == t0 + 95'000);
  CHECK(c.idle_marker(t0 + 230'000, 30'000));
  CHECK(c.watermark() == t0 + 200'000);
  event_clock d{rules()};
  d.restore(c.watermark(), c.last_publish_ms());
  CHECK(d.final_before() == c.final_before());
}

TEST_CASE("an idle marker moves the watermark only after that much quiet in the stream", "[time][watermark]") {
  event_clock c{rules()};
  c.published(t0);  // a publisher's message stored at t0
  // A marker stored 10 s later with a 30 s idle advance: the stream was not quiet for
  // 30 s before it (it may stand right behind a backlog its writer had not read).
  CHECK_FALSE(c.idle_marker(t0 + 10'000, 30'000));
  CHECK(c.watermark() == event_clock::no_watermark);
  CHECK(c.idle_marker(t0 + 30'000, 30'000));
  CHECK(c.watermark() == t0);
  // The quiet is part of the checkpointed state: a restored clock decides the same.
  c.published(t0 + 40'000);
  event_clock d{rules()};
  d.restore(c.watermark(), c.last_publish_ms());
  CHECK_FALSE(d.idle_marker(t0 + 60'000, 30'000));
  CHECK(d.idle_marker(t0 + 70'000, 30'000));
  CHECK(d.watermark() == t0 + 40'000);
}

TEST_CASE("event_clock matches a naive model on random streams", "[time][watermark][model]") {
  std::mt19937_64 rng{99};
  const auto r = rules();
  for (int stream = 0; stream < 3000; ++stream) {
    event_clock c{r};
    std::int64_t newest = 0;
    bool any = false;
    for (int i = 0; i < 60; ++i) {
      const std::int64_t et = t0 + static_cast<std::int64_t>(rng() % 3'000'000);
      // Naive: recompute everything from the definition.
      const std::int64_t wm = newest - r.max_out_of_orderness_ms;
      arrival want;
      if (et > wall + r.max_future_skew_ms) want = arrival::future;
      else if (any && et < wm - r.dedup_horizon_ms) want = arrival::too_old;
      else if (any && minute_of(et) * 1 + minute_ms + r.allowed_lateness_ms <= wm) want = arrival::late;
      else want = arrival::on_time;
      REQUIRE(c.classify(et, wall) == want);
      if (want == arrival::on_time || want == arrival::late) {
        c.observe(et);
        newest = any ? std::max(newest, et) : et;
        any = true;
      }
    }
  }
}
