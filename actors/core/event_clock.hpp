// Event time for one partition (DESIGN 4.1), as pure logic shared by the partition actor
// and the load generator's ground truth:
// - watermark = highest accepted event time - max_out_of_orderness, or later where an
//   idle-advance marker in the stream moves it: to the marker's publish time minus the
//   idle advance, but only if the stream itself was quiet that long before the marker
//   (no message of a publisher stored in between). A marker appended right after a
//   backlog that its writer had not read yet changes nothing;
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
  static constexpr std::int64_t no_watermark = window_rules::no_watermark;

  explicit event_clock(const window_rules& rules) : rules_(rules) {}

  /// Continues from a checkpointed watermark and last publish time.
  void restore(std::int64_t watermark_ms, std::int64_t last_publish_ms);

  /// Judges a click of a message the broker stored at `publish_ms`.
  arrival classify(std::int64_t event_ms, std::int64_t publish_ms) const;

  /// An accepted (on-time or late) click's event time.
  void observe(std::int64_t event_ms);

  /// A publisher's message (clicks or not) stored at `publish_ms`: the stream was not quiet.
  void published(std::int64_t publish_ms);

  /// An idle-advance marker stored at `publish_ms`: if nothing was published in the
  /// `idle_ms` before it, the watermark moves to at least publish_ms - idle_ms (never
  /// backwards). Returns whether it moved.
  bool idle_marker(std::int64_t publish_ms, std::int64_t idle_ms);

  std::int64_t watermark() const { return watermark_; }
  /// Publish time of the last publisher message (0: none yet).
  std::int64_t last_publish_ms() const { return last_publish_ms_; }
  /// Start of the first minute that is not final.
  std::int64_t final_before() const;
  const window_rules& rules() const { return rules_; }

 private:
  window_rules rules_;
  std::int64_t watermark_ = no_watermark;
  std::int64_t last_publish_ms_ = 0;
};

}  // namespace adclick
