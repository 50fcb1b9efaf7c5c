// A click rate over the last few seconds, cheap enough to keep per active ad: two counts
// (this window and the one before) and where this window started. The rate at `now` is
// the previous window's count weighted by how much of it still lies within one window of
// `now`, plus this window's count, over the window length: a sliding-window estimate with
// no per-event memory. Pure, not thread-safe.
#pragma once

#include <cstdint>

namespace adclick {

class rate_meter {
 public:
  static constexpr std::int64_t window_ms = 10'000;

  /// Counts `n` events at `now_ms` (a monotonic clock; never earlier than the last call).
  void add(std::int64_t now_ms, std::uint64_t n) {
    roll(now_ms);
    current_ += n;
  }

  /// Events per second around `now_ms`.
  double per_second(std::int64_t now_ms) const {
    rate_meter m = *this;
    m.roll(now_ms);
    const double into = static_cast<double>(now_ms - m.start_ms_) / window_ms;  // 0..1
    return (static_cast<double>(m.previous_) * (1.0 - into) + static_cast<double>(m.current_)) * 1000.0 / window_ms;
  }

 private:
  void roll(std::int64_t now_ms) {
    if (now_ms - start_ms_ < window_ms) return;
    const bool adjacent = now_ms - start_ms_ < 2 * window_ms;
    previous_ = adjacent ? current_ : 0;
    current_ = 0;
    start_ms_ = now_ms - (now_ms - start_ms_) % window_ms;
  }

  std::int64_t start_ms_ = 0;
  std::uint64_t current_ = 0;
  std::uint64_t previous_ = 0;
};

}  // namespace adclick
