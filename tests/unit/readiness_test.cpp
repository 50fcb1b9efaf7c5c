#include <catch2/catch.hpp>

#include <memory>

#include "actors/core/event_clock.hpp"
#include "gateway/admin.hpp"

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

TEST_CASE("a lost NATS connection makes the service not ready, with the reason", "[readiness]") {
  outside_status out;
  out.ingress = {reading(0)};
  out.nats = {false, 2, 1};
  auto problems = readiness_problems({healthy(0)}, out, 30'000, now);
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, "NATS connection lost"));
  CHECK(mentions(problems, "2 disconnects"));
}

TEST_CASE("status and lag: lag is pending plus unacked, clicks scaled by clicks per message, watermark lag from now",
          "[readiness][admin]") {
  outside_status out;
  auto in = reading(0);
  in.pending = 30;
  in.unacked = 10;
  out.ingress = {in};
  auto p = healthy(0);
  p.messages_dispatched = 100;
  p.clicks_dispatched = 2500;  // 25 clicks per message
  p.watermark_ms = now - 7'000;
  p.outcomes[outcome::counted] = 2400;
  p.undecided = 100;
  auto s = status_reply({p}, out, 30'000, 16, window_rules{}, now);
  REQUIRE(s.partitions_size() == 1);
  CHECK(s.partitions(0).lag_messages() == 40);
  CHECK(s.partitions(0).lag_clicks_estimate() == 1000);
  CHECK(s.partitions(0).watermark_lag_ms() == 7'000);
  CHECK(s.arrived() == 2500);
  CHECK(s.ready());
  CHECK(s.outcomes().counted() == 2400);
  auto lag = lag_reply(s);
  CHECK(lag.max_lag_messages() == 40);
  CHECK(lag.max_watermark_lag_ms() == 7'000);
  // No watermark yet: no lag to report, not the distance to the epoch.
  p.watermark_ms = event_clock::no_watermark;
  CHECK(status_reply({p}, out, 30'000, 16, window_rules{}, now).partitions(0).watermark_lag_ms() == 0);
}

TEST_CASE("status shows the process's memory: resident, anonymous and file pages", "[readiness][admin]") {
  outside_status out;
  out.ingress = {reading(0)};
  const auto before = read_process_memory();
  CHECK(before.rss_bytes > 0);
  CHECK(before.rss_bytes == before.rss_anon_bytes + before.rss_file_bytes);
  // 64 MiB written is 64 MiB more anonymous memory.
  auto block = std::make_unique<char[]>(64 << 20);
  for (std::size_t i = 0; i < (64u << 20); i += 4096) block[i] = 1;
  out.memory = read_process_memory();
  CHECK(out.memory.rss_anon_bytes >= before.rss_anon_bytes + (60u << 20));
  auto s = status_reply({healthy(0)}, out, 30'000, 16, window_rules{}, now);
  CHECK(s.memory().rss_bytes() == out.memory.rss_bytes);
  CHECK(s.memory().rss_anon_bytes() == out.memory.rss_anon_bytes);
  CHECK(s.memory().rss_file_bytes() == out.memory.rss_file_bytes);
  out.memory.trims = 3;
  out.memory.trimmed_bytes = 7 << 20;
  s = status_reply({healthy(0)}, out, 30'000, 16, window_rules{}, now);
  CHECK(s.memory().trims() == 3);
  CHECK(s.memory().trimmed_bytes() == 7u << 20);
}

TEST_CASE("trims back off while they give back little, and come back to the shortest interval when they do",
          "[unit][memory]") {
  using std::chrono::seconds;
  trim_report none;  // no trim ran: the interval stays
  CHECK(next_trim_interval(seconds(40), none, seconds(10), seconds(300)) == seconds(40));
  trim_report little;
  little.trimmed = true;
  little.rss_before = 1000 << 20;
  little.rss_after = little.rss_before - (5 << 20);  // 0.5%
  CHECK(next_trim_interval(seconds(10), little, seconds(10), seconds(300)) == seconds(20));
  CHECK(next_trim_interval(seconds(160), little, seconds(10), seconds(300)) == seconds(300));
  CHECK(next_trim_interval(seconds(300), little, seconds(10), seconds(300)) == seconds(300));
  trim_report grew = little;  // the RSS grew meanwhile: nothing given back
  grew.rss_after = grew.rss_before + (50 << 20);
  CHECK(next_trim_interval(seconds(20), grew, seconds(10), seconds(300)) == seconds(40));
  trim_report some = little;
  some.rss_after = some.rss_before - (30 << 20);  // 3%: still not worth every 10 s
  CHECK(next_trim_interval(seconds(10), some, seconds(10), seconds(300)) == seconds(20));
  trim_report much = little;
  much.rss_after = much.rss_before - (50 << 20);  // 5%
  CHECK(next_trim_interval(seconds(160), much, seconds(10), seconds(300)) == seconds(10));
}
