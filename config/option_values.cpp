#include "config/option_values.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace adclick {

namespace {

/// Splits "12ms" into 12 and "ms"; nullopt if it does not start with digits or overflows.
std::optional<std::pair<std::uint64_t, std::string>> number_and_unit(std::string_view text) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (max - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  return std::pair{n, std::string{text.substr(i)}};
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  auto nu = number_and_unit(text);
  if (!nu) return std::nullopt;
  auto [n, unit] = *nu;
  std::uint64_t scale = 0;
  if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1'000;
  else if (unit == "ms") scale = 1'000'000;
  else if (unit == "s") scale = 1'000'000'000;
  else if (unit == "min" || unit == "m") scale = 60'000'000'000;
  else if (unit == "h") scale = 3'600'000'000'000;
  else if (unit == "d") scale = 86'400'000'000'000;
  else if (unit.empty() && n == 0) scale = 1;
  else return std::nullopt;
  if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale) return std::nullopt;
  return std::chrono::nanoseconds{static_cast<std::int64_t>(n * scale)};
}

std::string format_duration(std::chrono::nanoseconds d) {
  const auto ns = d.count();
  if (ns == 0) return "0s";
  struct unit {
    std::int64_t scale;
    const char* name;
  };
  static constexpr unit units[] = {{86'400'000'000'000, "d"}, {3'600'000'000'000, "h"}, {60'000'000'000, "min"},
                                   {1'000'000'000, "s"},      {1'000'000, "ms"},        {1'000, "us"}};
  for (const auto& u : units)
    if (ns % u.scale == 0) return std::to_string(ns / u.scale) + u.name;
  return std::to_string(ns) + "ns";
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto nu = number_and_unit(text);
  if (!nu) return std::nullopt;
  auto [n, unit] = *nu;
  std::uint64_t scale = 0;
  const auto u = lower(unit);
  if (u.empty() || u == "b") scale = 1;
  else if (u == "kib") scale = 1ULL << 10;
  else if (u == "mib") scale = 1ULL << 20;
  else if (u == "gib") scale = 1ULL << 30;
  else if (u == "tib") scale = 1ULL << 40;
  else if (u == "kb") scale = 1'000;
  else if (u == "mb") scale = 1'000'000;
  else if (u == "gb") scale = 1'000'000'000;
  else if (u == "tb") scale = 1'000'000'000'000;
  else return std::nullopt;
  if (n > std::numeric_limits<std::uint64_t>::max() / scale) return std::nullopt;
  return n * scale;
}

std::optional<bool> parse_bool(std::string_view text) {
  const auto t = lower(text);
  if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
  if (t == "false" || t == "no" || t == "off" || t == "0") return false;
  return std::nullopt;
}

std::string redact_url(std::string_view url) {
  std::string out;
  std::size_t at = 0;
  while (at <= url.size()) {
    const auto comma = std::min(url.find(',', at), url.size());
    auto one = std::string{url.substr(at, comma - at)};
    const auto scheme = one.find("://");
    const auto host_start = scheme == std::string::npos ? 0 : scheme + 3;
    const auto credentials_end = one.find('@', host_start);
    if (credentials_end != std::string::npos && one.find('/', host_start) > credentials_end)
      one = one.substr(0, host_start) + "<redacted>" + one.substr(credentials_end);
    out += (out.empty() && at == 0 ? "" : ",") + one;
    at = comma + 1;
  }
  return out;
}

}  // namespace adclick
