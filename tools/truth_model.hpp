// A deliberately simple reference model of what adclick must make of a click stream,
// used by `adclick load` to write the ground truth. Fed the messages of each partition in
// publish order, it applies the contract (DESIGN 4.1, 4.2): a click on another partition's
// subject is rejected (wrong_partition); per partition, the clicks of a message are judged
// against the watermark as it stood after the previous message (future and too_old are
// rejected); an id already accepted is a duplicate; a click whose
// minute is final is an amendment; anything else is counted. Pure, no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "messages/types.hpp"
#include "actors/core/event_clock.hpp"
#include "actors/core/id_set.hpp"
#include "tools/truth.hpp"

namespace adclick {

class truth_model {
 public:
  truth_model(const window_rules& rules, std::uint32_t partitions);

  /// One NATS message of `partition` holding `clicks`, stored by the stream at `wall_ms`
  /// (adclickd judges `future` by that time; `adclick load` passes its own clock instead
  /// only for a message that no click puts near the edge).
  void message(std::uint32_t partition, const std::vector<click>& clicks, std::int64_t wall_ms);
  /// One message that is not a ClickBatch.
  void garbage();
  /// Marks the buckets the final watermarks have passed; call once, after the last message.
  void finish();

  const event_clock& clock(std::uint32_t partition) const { return clocks_[partition]; }
  truth& result() { return truth_; }

 private:
  std::vector<event_clock> clocks_;
  id_set accepted_;  ///< ids accepted so far (a repeat carries its original's ad and time)
  truth truth_;
};

}  // namespace adclick
