// The gateway actor: the one entry for queries and admin verbs from HTTP (and later NATS).
//
// Accepts (from HTTP handler threads, via scoped actors):
//   series_query -> series. Routed to the partition actor of ad_id mod partitions; a
//                   partition this node does not own answers errc::bad_request for now
//                   (scale-out forwards over adclick.query.<partition> later).
//   status_atom  -> std::vector<partition_status>, one per owned partition, in order.
#pragma once

#include <cstdint>
#include <map>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace adclick {

struct gateway_state {
  std::uint32_t partitions_count = 0;
  std::map<std::uint32_t, caf::actor> owned;  ///< partition id -> partition actor
  static inline const char* name = "adclick.gateway";
};

caf::behavior gateway_actor(caf::stateful_actor<gateway_state>* self, std::uint32_t partitions_count,
                            std::map<std::uint32_t, caf::actor> owned);

}  // namespace adclick
