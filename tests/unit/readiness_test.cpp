#include <catch2/catch.hpp>

#include "gateway/http/http_api.hpp"

using namespace adclick;

namespace {
constexpr std::int64_t now = 1'764'300'000'000;
partition_status healthy(std::uint32_t p) {
  partition_status s;
  s.partition = p;
  s.recovered = true;
  s.durable_at_ms = now - 1'000;
  return s;
}
ingress_status reading(std::uint32_t p) {
  ingress_status s;
  s.partition = p;
  s.running = true;
  return s;
}
bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("ready only when every partition is recovered, reading and checkpointing", "[readiness]") {
  outside_status out;
  out.ingress = {reading(0), reading(1)};
  std::vector<partition_status> parts{healthy(0), healthy(1)};
  CHECK(readiness_problems(parts, out, 30'000, now).empty());

  auto failing = parts;
  failing[1].failing_since_ms = now - 5'000;
  failing[1].last_checkpoint_error = "storage: write failed: IO error: No space left on device";
  auto problems = readiness_problems(failing, out, 30'000, now);
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, "partition 1: checkpoints failing since"));
  CHECK(mentions(problems, "No space left on device"));

  auto stale = parts;  // a write hung in fsync: nothing fails, nothing gets durable
  stale[0].durable_at_ms = now - 45'000;
  stale[0].in_flight_since_ms = now - 44'000;
  problems = readiness_problems(stale, out, 30'000, now);
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, "lags what was dispatched by 45 s"));
  CHECK(mentions(problems, "in flight for 44 s"));

  auto halted = out;
  halted.ingress[0].running = false;
  halted.ingress[0].halted = "stream ADCLICK_CLICKS was recreated";
  CHECK(mentions(readiness_problems(parts, halted, 30'000, now), "partition 0: stream ADCLICK_CLICKS was recreated"));
  auto connecting = out;
  connecting.ingress[1].running = false;
  CHECK(mentions(readiness_problems(parts, connecting, 30'000, now), "partition 1: not bound"));
  auto loading = parts;
  loading[0].recovered = false;
  CHECK(mentions(readiness_problems(loading, out, 30'000, now), "recovering"));
}
