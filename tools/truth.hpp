// The ground truth that `adclick load` writes and `adclick verify` checks: for each
// (ad, minute) the exact count, whether it must be final and how many amendments it took,
// and the expected outcome totals.
// JSON: {"version":2,"seed":..,"clicks":..,"outcomes":{"counted":..,...},
//        "counts":[[ad_id, minute_start_ms, count, amendments, final(0|1)], ...]}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "messages/types.hpp"

namespace adclick {

struct expected_bucket {
  std::uint64_t count = 0;
  std::uint32_t amendments = 0;  ///< late clicks counted into it
  bool final = false;            ///< the watermark will have passed it at the end
  bucket_state state() const {
    return amendments > 0 ? bucket_state::amended : final ? bucket_state::final : bucket_state::open;
  }
  std::uint32_t version() const { return amendments > 0 || final ? 1 + amendments : 0; }
};

struct truth {
  std::uint64_t seed = 0;
  std::uint64_t clicks = 0;  ///< arrivals generated (clicks and garbage messages)
  outcome_counters outcomes; ///< expected outcome totals
  std::map<std::pair<std::uint64_t, std::int64_t>, expected_bucket> counts;  ///< (ad, minute)

  /// Adds `other` into this (several loads feeding one service).
  void merge(const truth& other);

  bool save(const std::string& path, std::string& error) const;
  static std::optional<truth> load(const std::string& path, std::string& error);
};

}  // namespace adclick
