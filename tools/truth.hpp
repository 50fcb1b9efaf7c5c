// The ground-truth file that `adclick load` writes and `adclick verify` checks: for each
// (ad, minute) the exact count both views must show, and the expected outcome totals.
// JSON: {"version":1,"seed":..,"clicks":..,"outcomes":{"counted":..,...},
//        "counts":[[ad_id, minute_start_ms, count], ...]}  (counts sorted by ad, minute)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "adclick/types.hpp"

namespace adclick {

struct truth {
  std::uint64_t seed = 0;
  std::uint64_t clicks = 0;           ///< clicks generated (every arrival, whatever its outcome)
  outcome_counters outcomes;          ///< expected outcome totals
  std::map<std::pair<std::uint64_t, std::int64_t>, std::uint64_t> counts;  ///< (ad, minute) -> count

  void add(std::uint64_t ad_id, std::int64_t minute_ms, std::uint64_t n = 1) { counts[{ad_id, minute_ms}] += n; }
  /// Adds `other` into this (used when several loads feed one service).
  void merge(const truth& other);

  bool save(const std::string& path, std::string& error) const;
  static std::optional<truth> load(const std::string& path, std::string& error);
};

}  // namespace adclick
