// Rate limiting for a log line that can repeat many times a second (a failing disk makes
// every checkpoint fail): the first occurrence is written, then at most one per interval,
// each saying how many were held back since the one before. Pure, not thread-safe.
#pragma once

#include <cstdint>

namespace adclick {

class log_limiter {
 public:
  explicit log_limiter(std::int64_t interval_ms) : interval_ms_(interval_ms) {}

  /// True if a line may be written at `now_ms`; then `suppressed` is set to the number of
  /// occurrences held back since the last line written.
  bool allow(std::int64_t now_ms, std::uint64_t& suppressed) {
    if (written_ && now_ms - last_ms_ < interval_ms_) {
      ++held_;
      return false;
    }
    written_ = true;
    last_ms_ = now_ms;
    suppressed = held_;
    held_ = 0;
    return true;
  }

 private:
  std::int64_t interval_ms_;
  std::int64_t last_ms_ = 0;
  bool written_ = false;
  std::uint64_t held_ = 0;
};

}  // namespace adclick
