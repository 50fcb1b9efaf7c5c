// The ad actor: one per active ad, owned by the partition of that ad.
//
// Accepts (all from its partition actor, which is the only sender, so FIFO order between
// the two is the order of the stream):
//   ad_clicks          -> no reply. Counts each click into its event-time minute.
//   flush_atom         -> ad_delta: the buckets changed since the last flush (absolute
//                         counts). Because it arrives after every ad_clicks the partition
//                         sent before it, the reply is exactly the state as of the
//                         partition's dispatched position: a consistent checkpoint cut.
//   series_query       -> series: stored buckets overlaid with what memory knows.
// State lives in minute_counts; a bucket not yet in memory is seeded from the store first,
// so a restarted actor continues from the durable count.
#pragma once

#include <cstdint>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "minute_counts.hpp"

namespace adclick {

class store;

struct ad_state {
  std::uint64_t ad_id = 0;
  store* db = nullptr;
  minute_counts counts;
  static inline const char* name = "adclick.ad";
};

caf::behavior ad_actor(caf::stateful_actor<ad_state>* self, std::uint64_t ad_id, store* db);

}  // namespace adclick
