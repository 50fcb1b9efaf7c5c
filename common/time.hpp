// Event-time arithmetic and parsing shared by the service, the CLI and the tests.
// Times are UTC epoch milliseconds everywhere inside adclick.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace adclick {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t hour_ms = 60 * minute_ms;
constexpr std::int64_t day_ms = 24 * hour_ms;

/// Start of the bucket of width `width_ms` holding `t` (floors toward -infinity).
constexpr std::int64_t bucket_start(std::int64_t t, std::int64_t width_ms) {
  std::int64_t q = t / width_ms;
  if (t % width_ms != 0 && t < 0) --q;
  return q * width_ms;
}
constexpr std::int64_t minute_of(std::int64_t t) { return bucket_start(t, minute_ms); }

/// Parses "1700000000000" (epoch ms) or RFC 3339 ("2026-11-28T02:23:41Z",
/// "2026-11-28T02:23:41.250+01:00"). nullopt on anything else.
std::optional<std::int64_t> parse_time(const std::string& text);

/// Formats epoch ms as RFC 3339 UTC with milliseconds: "2026-11-28T02:23:41.250Z".
std::string format_time(std::int64_t epoch_ms);

/// Wall clock, epoch ms.
std::int64_t now_ms();

}  // namespace adclick
