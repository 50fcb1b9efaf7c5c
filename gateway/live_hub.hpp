// The live hub: where live updates leave the actor system (DESIGN 3.2, 4.3).
//
// Accepts:
//   live_update   (from ad actors, at most one per ad per live.interval, prompted by their
//                 partition) -> no reply. Each minute goes to NATS as a CountUpdate on
//                 <prefix>.live.<ad> (when live.nats is on) and to the SSE sessions
//                 watching the ad.
//   live_touches  (from partition actors after each durable checkpoint) -> no reply. For
//                 each campaign or advertiser minute whose share changed, and that NATS
//                 or a session wants, the hub reads the group's minute back from the store
//                 (the sum of every partition's share) and sends it likewise, on
//                 <prefix>.live.campaign.<id> / .advertiser.<id>. Its state uses the lowest
//                 final_before the partitions reported; a minute sent open is sent again
//                 when that passes it (another partition's watermark may close it with no
//                 share changing).
// It runs detached (its own thread): publishing may block while NATS reconnects, and the
// store reads are blocking.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <string>

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/subjects.hpp"
#include "messages/types.hpp"

namespace adclick {

class store;
class live_fanout;

struct live_hub_config {
  store* db = nullptr;
  live_fanout* fanout = nullptr;
  subjects names;
  /// Publishes a core NATS message; empty: live updates go to SSE sessions only.
  std::function<void(const std::string& subject, const std::string& payload)> publish;
  std::uint32_t partitions = 0;  ///< owned partitions: a group's minute is final only once all say so
};

struct live_hub_state {
  live_hub_config cfg;
  std::map<std::uint32_t, std::int64_t> final_before;  ///< per partition, as last reported
  /// Group minutes last sent open (minute, kind, id), to send again once they close.
  std::set<std::tuple<std::int64_t, entity, std::uint64_t>> sent_open;
  std::uint64_t published = 0;
  static inline const char* name = "adclick.live_hub";
};

caf::behavior live_hub(caf::stateful_actor<live_hub_state>* self, live_hub_config cfg);

}  // namespace adclick
