// The forms people type for option values, in the config file, flags and environment
// alike: durations (250ms, 10s, 10min or 10m, 1h, 2d), sizes (1048576, 512KiB, 1MiB,
// 1MB) and booleans (true/false, yes/no, on/off, 1/0). Pure functions, no CAF.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adclick {

/// A number and one unit: ns, us, ms, s, min (or m), h, d. "0" alone is zero. Nullopt on
/// anything else, including a negative number (every adclickd duration is a length).
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// How adclickd writes a duration: the largest unit that keeps it exact (10min, 250ms, 0s).
std::string format_duration(std::chrono::nanoseconds d);

/// A count of bytes: a number with an optional unit B, KiB, MiB, GiB, TiB (powers of 1024)
/// or kB/KB, MB, GB, TB (powers of 1000). Nullopt on anything else or on overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// true/false, yes/no, on/off, 1/0, in any case.
std::optional<bool> parse_bool(std::string_view text);

/// A URL with any credentials in it (scheme://user:pass@host, scheme://token@host)
/// replaced by <redacted>, for logs and --print-config; each URL of a comma-separated list.
std::string redact_url(std::string_view url);

}  // namespace adclick
