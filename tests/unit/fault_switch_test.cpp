#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "common/fault_switch.hpp"
#include "common/log_limiter.hpp"
#include "tests/support/test_support.hpp"

using namespace adclick;

TEST_CASE("faults are off until armed, and an armed count is used up", "[faults]") {
  fault_switch f;
  CHECK_FALSE(f.active("storage-full"));
  f.arm("storage-full", 2);
  CHECK(f.active("storage-full"));
  CHECK(f.active("storage-full"));
  CHECK_FALSE(f.active("storage-full"));
  f.arm("storage-hang");
  for (int i = 0; i < 10; ++i) CHECK(f.active("storage-hang"));
  f.disarm("storage-hang");
  CHECK_FALSE(f.active("storage-hang"));
}

TEST_CASE("a fault listed in the fault file is active while it is listed", "[faults]") {
  test::temp_dir dir;
  const auto path = dir.str("faults");
  fault_switch f{path};
  CHECK_FALSE(f.active("storage-full"));  // no file: nothing
  std::ofstream{path} << "outbox-hold\nstorage-full\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // re-read at most every 50 ms
  CHECK(f.active("storage-full"));
  CHECK(f.active("outbox-hold"));
  CHECK_FALSE(f.active("storage-sync-fail"));
  std::ofstream{path} << "";
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK_FALSE(f.active("storage-full"));
}

TEST_CASE("a repeating log line is written at most once per interval, counting what it held back", "[log]") {
  log_limiter limit{10'000};
  std::uint64_t held = 99;
  CHECK(limit.allow(1'000, held));
  CHECK(held == 0);
  for (int i = 0; i < 240; ++i) CHECK_FALSE(limit.allow(1'000 + i * 4, held));
  CHECK(limit.allow(11'000, held));
  CHECK(held == 240);
  CHECK_FALSE(limit.allow(11'001, held));
}
