// Event time for one partition (DESIGN 4.1), as pure logic shared by the partition actor
// and the load generator's ground truth:
// - watermark = highest accepted event time - max_out_of_orderness, or later where an
//   idle-advance marker in the stream moves it (advance_to);
// - minute m is final once watermark >= m + 1 min + allowed_lateness;
// - a click is `future` beyond its message's publish time (the broker's timestamp) +
//   max_future_skew, `too_old` below watermark - dedup_horizon, `late` (an amendment) if
//   its minute is final, else on time.
// The partition classifies the clicks of one NATS message against the watermark as it was
// after the previous message, then observes them. Every input is in the stream (the
// messages, their order, their publish times, the markers), so the result never depends
// on how or when the stream was delivered: a replay decides the same.
#pragma once

#include <cstdint>
#include <limits>

#include "messages/types.hpp"

namespace adclick {

enum class arrival : std::uint8_t { on_time, late, too_old, future };

class event_clock {
 public:
  /// Before any click: nothing is final, nothing is too old.
  static constexpr std::int64_t no_watermark = std::numeric_limits<std::int64_t>::min() / 4;

  explicit event_clock(const window_rules& rules) : rules_(rules) {}

  /// Continues from a checkpointed watermark.
  void restore(std::int64_t watermark_ms);

  /// Judges a click of a message the broker stored at `publish_ms`.
  arrival classify(std::int64_t event_ms, std::int64_t publish_ms) const;

  /// An accepted (on-time or late) click's event time.
  void observe(std::int64_t event_ms);

  /// Moves the watermark to at least `watermark_ms` (an idle-advance marker). Never backwards.
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
