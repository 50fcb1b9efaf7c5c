#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "actors/core/minute_counts.hpp"

using namespace adclick;

TEST_CASE("seeded buckets continue from the stored count and are not changes", "[counts]") {
  minute_counts m;
  m.seed({60'000, 10, bucket_state::open, 0});
  CHECK(m.has(60'000));
  CHECK(m.get(60'000).count == 10);
  CHECK(m.take_changes().empty());
  m.add(60'000);
  m.add(60'000);
  m.add(60'000);
  CHECK(m.get(60'000).count == 13);
  auto changes = m.take_changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].minute_ms == 60'000);
  CHECK(changes[0].count == 13);  // absolute, so a replayed checkpoint is idempotent
  CHECK(m.take_changes().empty());
}

TEST_CASE("overlay puts memory over storage, in order", "[counts]") {
  minute_counts m;
  m.seed({120'000, 5, bucket_state::open, 0});
  m.add(120'000);          // 6, newer than storage's 5
  m.add(240'000);          // only in memory
  m.seed({600'000, 0, bucket_state::open, 0});  // outside the range below
  m.add(600'000);
  std::vector<series_point> stored{{60'000, 3, bucket_state::open, 0}, {120'000, 5, bucket_state::open, 0},
                                   {180'000, 1, bucket_state::open, 0}};
  m.overlay(0, 300'000, stored);
  REQUIRE(stored.size() == 4);
  CHECK(stored[0].start_ms == 60'000);
  CHECK(stored[0].count == 3);
  CHECK(stored[1].start_ms == 120'000);
  CHECK(stored[1].count == 6);
  CHECK(stored[2].start_ms == 180'000);
  CHECK(stored[3].start_ms == 240'000);
  CHECK(stored[3].count == 1);
}

TEST_CASE("minute_counts matches a plain map on random streams", "[counts][model]") {
  std::mt19937_64 rng{12345};
  for (int stream = 0; stream < 2000; ++stream) {
    minute_counts m;
    std::map<std::int64_t, std::uint64_t> model, durable;
    const int ops = 1 + static_cast<int>(rng() % 200);
    for (int i = 0; i < ops; ++i) {
      std::int64_t minute = static_cast<std::int64_t>(rng() % 20) * 60'000;
      if (rng() % 10 == 0) {
        for (const auto& c : m.take_changes()) durable[c.minute_ms] = c.count;
        continue;
      }
      if (!m.has(minute)) m.seed({minute, durable[minute], bucket_state::open, 0});
      m.add(minute);
      model[minute] += 1;
    }
    for (const auto& c : m.take_changes()) durable[c.minute_ms] = c.count;
    for (const auto& [minute, n] : model) {
      REQUIRE(m.get(minute).count == n);
      REQUIRE(durable[minute] == n);  // every change reached "storage"
    }
  }
}

TEST_CASE("buckets go open -> final -> amended, one version per late click", "[counts]") {
  minute_counts m;
  m.add(0);
  m.add(60'000);
  m.add(120'000);
  m.take_changes();
  CHECK(m.finalize_before(120'000) == 2);
  CHECK(m.get(0).state == bucket_state::final);
  CHECK(m.get(0).version == 1);
  CHECK(m.get(120'000).state == bucket_state::open);
  auto changes = m.take_changes();
  REQUIRE(changes.size() == 2);  // the state change must be persisted
  CHECK(changes[0].state == bucket_state::final);
  CHECK(m.finalize_before(120'000) == 0);  // idempotent

  m.add_late(0);
  m.add_late(0);
  CHECK(m.get(0).count == 3);
  CHECK(m.get(0).state == bucket_state::amended);
  CHECK(m.get(0).version == 3);
  // A late click for a minute this ad never counted: final at 0, then amended.
  m.add_late(-60'000);
  CHECK(m.get(-60'000).count == 1);
  CHECK(m.get(-60'000).state == bucket_state::amended);
  CHECK(m.get(-60'000).version == 2);
}

TEST_CASE("bucket states match a plain model on random streams, through drops and re-seeds", "[counts][model]") {
  // Model: per minute, count, whether final, and late clicks; version and state derived.
  struct model_bucket {
    std::uint64_t count = 0;
    bool final = false;
    std::uint32_t late = 0;
  };
  std::mt19937_64 rng{2024};
  for (int stream = 0; stream < 3000; ++stream) {
    minute_counts m;
    std::map<std::int64_t, model_bucket> model;
    std::map<std::int64_t, minute_count> durable;
    std::int64_t final_before = 0;
    for (int i = 0, ops = 1 + static_cast<int>(rng() % 150); i < ops; ++i) {
      const auto minute = static_cast<std::int64_t>(rng() % 12) * 60'000;
      if (!m.has(minute) && durable.count(minute)) m.seed(durable[minute]);
      switch (rng() % 8) {
        case 0: {  // the watermark moves: finalize
          final_before = std::max(final_before, static_cast<std::int64_t>(rng() % 13) * 60'000);
          m.finalize_before(final_before);
          for (auto& [k, b] : model)
            if (k < final_before) b.final = true;
          break;
        }
        case 1:  // checkpoint, and sometimes a durable flush that drops settled buckets
          for (const auto& c : m.take_changes()) durable[c.minute_ms] = c;
          if (rng() % 2) m.drop_settled();
          break;
        default:
          if (minute < final_before) {
            m.add_late(minute);
            auto& b = model[minute];
            b.count += 1;
            b.final = true;
            b.late += 1;
          } else {
            m.add(minute);
            model[minute].count += 1;
          }
      }
    }
    for (const auto& c : m.take_changes()) durable[c.minute_ms] = c;
    for (const auto& [minute, b] : model) {
      if (!m.has(minute)) m.seed(durable[minute]);
      const auto got = m.get(minute);
      const auto want_state = b.late ? bucket_state::amended : b.final ? bucket_state::final : bucket_state::open;
      REQUIRE(got.count == b.count);
      REQUIRE(got.state == want_state);
      REQUIRE(got.version == (b.late || b.final ? 1 + b.late : 0));
    }
  }
}
