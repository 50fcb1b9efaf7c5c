// Event time for one partition (DESIGN 4.1), as pure logic shared by the partition actor
// and the load generator's ground truth:
// - watermark = highest accepted event time - max_out_of_orderness (or later, when an idle
//   partition is advanced with wall time);
// - minute m is final once watermark >= m + 1 min + allowed_lateness;
// - a click is `future` beyond wall clock + max_future_skew, `too_old` below
//   watermark - dedup_horizon, `late` (an amendment) if its minute is final, else on time.
// The partition classifies the clicks of one NATS message against the watermark as it was
// after the previous message, then observes them: the result depends only on the order of
// messages in the partition, never on how they were fetched or batched.
#pragma once

#include <cstdint>
#include <limits>

namespace adclick {

struct window_rules {
  std::int64_t max_out_of_orderness_ms = 5'000;
  std::int64_t allowed_lateness_ms = 10 * 60'000;
  std::int64_t dedup_horizon_ms = 60 * 60'000;
  std::int64_t max_future_skew_ms = 5 * 60'000;
};

enum class arrival : std::uint8_t { on_time, late, too_old, future };

class event_clock {
 public:
  /// Before any click: nothing is final, nothing is too old.
  static constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min() / 4;

  explicit event_clock(const window_rules& rules) : rules_(rules) {}

  /// Continues from a checkpointed watermark.
  void restore(std::int64_t watermark_ms);

  arrival classify(std::int64_t event_ms, std::int64_t wall_ms) const;

  /// An accepted (on-time or late) click's event time.
  void observe(std::int64_t event_ms);

  /// Moves the watermark to at least `watermark_ms` (idle advance). Never backwards.
  void advance_to(std::int64_t watermark_ms);

  std::int64_t watermark() const { return watermark_; }
  /// Start of the first minute that is not final.
  std::int64_t final_before() const;
  const window_rules& rules() const { return rules_; }

 private:
  window_rules rules_;
  std::int64_t watermark_ = no_watermark;
};

}  // namespace adclick
