// What a partition actor does to each ingest batch, as pure logic: skip messages it has
// already dispatched (JetStream redeliveries, replays after a restart), classify each
// click against the partition's event clock (future and too_old are rejected, late ones
// are marked), and group the rest by ad so each ad actor gets one message per batch.
// The clicks of one message are classified against the watermark as it stood after the
// previous message, then observed: fetch boundaries change nothing.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "messages/types.hpp"
#include "actors/core/event_clock.hpp"

namespace adclick {

struct grouped_batch {
  /// ad_id -> its clicks, in stream order. Cleared and reused between batches.
  std::unordered_map<std::uint64_t, std::vector<click>> by_ad;
  /// Rejections in this batch's new messages: the decoder's, future and too_old.
  outcome_counters rejected;
  /// The clicks rejected here (future, too_old), with their reason, for the DLQ.
  std::vector<std::pair<click, outcome>> rejected_clicks;
  /// Clicks handed on (their outcome, counted or duplicate, is the ad actor's to decide).
  std::uint64_t clicks = 0;
  /// Messages skipped because their sequence was at or below the dispatched position.
  std::uint64_t skipped_messages = 0;
  /// Messages taken.
  std::uint64_t new_messages = 0;
  /// Highest stream sequence seen (taken or skipped).
  std::uint64_t last_seq = 0;
};

/// Groups `batch` into `out` (which is cleared first). Messages with stream_seq <=
/// `dispatched_seq` were handled before and are skipped. Returns the new dispatched
/// sequence: the highest sequence taken, or `dispatched_seq` if none was.
std::uint64_t group_by_ad(const ingest_batch& batch, std::uint64_t dispatched_seq, event_clock& clock,
                          std::int64_t wall_ms, grouped_batch& out);

}  // namespace adclick
