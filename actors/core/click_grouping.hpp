// What a partition actor does to each ingest batch, as pure logic: skip messages it has
// already dispatched (JetStream redeliveries, replays after a restart), apply idle-advance
// markers, reject clicks published on another partition's subject, classify each click
// against the partition's event clock (future and too_old are rejected, late ones are
// marked), and group the rest by ad so each ad actor gets one message per batch.
// The clicks of one message are classified against the watermark as it stood after the
// previous message, then observed: fetch boundaries change nothing.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/core/event_clock.hpp"
#include "messages/types.hpp"

namespace adclick {

/// A rejected arrival of a taken message, for the DLQ: the decoder's (its bytes as they
/// came) and this step's (the click as a ClickBatch of one). `ordinal` numbers the
/// rejections of one message in a fixed order (the decoder's first), so that stream
/// sequence and ordinal name a rejection across replays.
struct rejection {
  std::uint64_t stream_seq = 0;
  std::uint32_t ordinal = 0;
  outcome reason = outcome::rejected_malformed;
  std::string bytes;
};

struct grouped_batch {
  /// ad_id -> its clicks, in stream order. Cleared and reused between batches.
  std::unordered_map<std::uint64_t, std::vector<click>> by_ad;
  /// Rejections in this batch's new messages: the decoder's, wrong_partition, future and
  /// too_old.
  outcome_counters rejected;
  /// Every rejected arrival of the new messages, for the DLQ.
  std::vector<rejection> rejections;
  /// Clicks handed on (their outcome, counted or duplicate, is the ad actor's to decide).
  std::uint64_t clicks = 0;
  /// Messages skipped because their sequence was at or below the dispatched position.
  std::uint64_t skipped_messages = 0;
  /// Messages taken (idle-advance markers included).
  std::uint64_t new_messages = 0;
  /// Idle-advance markers taken.
  std::uint64_t markers = 0;
  /// Highest stream sequence seen (taken or skipped).
  std::uint64_t last_seq = 0;
};

/// Groups `batch` into `out` (which is cleared first). Messages with stream_seq <=
/// `dispatched_seq` were handled before and are skipped. A click whose ad belongs to
/// another of the `partitions` than batch.partition is rejected (wrong_partition). Returns
/// the new dispatched sequence: the highest sequence taken, or `dispatched_seq` if none was.
std::uint64_t group_by_ad(const ingest_batch& batch, std::uint64_t dispatched_seq, event_clock& clock,
                          std::uint32_t partitions, grouped_batch& out);

}  // namespace adclick
