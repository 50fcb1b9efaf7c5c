// The gateway actor: the one entry for queries and admin verbs from every door (HTTP and
// NATS request/reply call it the same way, and render what it answers).
//
// Accepts (from door threads, via scoped actors):
//   series_query -> series. An ad's: routed to the partition actor of ad_id mod
//                   partitions (a partition this node does not own answers
//                   errc::bad_request until scale-out forwards it). A campaign's or an
//                   advertiser's: summed from the store's shares (query_engine), as of the
//                   partitions' last durable checkpoints. errc::not_found for an id that
//                   never counted a click, errc::recovering while a partition recovers.
//   top_query    -> top_list: the exact top-K (query_engine), likewise.
//   status_atom  -> std::vector<partition_status>, one per owned partition, in order.
//   Admin verbs (gateway/admin.hpp), routed like queries:
//   inspect_atom, ad   -> ad_status, from the ad's partition, with its stored ids counted
//                         on a store reader.
//   passivate_atom, ad -> passivate_report, likewise.
//   hot_atom, k        -> std::vector<hot_ad>: the k highest rates over all partitions.
//   sync_atom          -> std::vector<checkpoint_report>, one per owned partition, once
//                         each has made everything it dispatched durable.
// Store reads for campaigns and top-K run on store readers (detached actors, their own
// threads, linked to the gateway), each read on the reader with the fewest in flight, so
// the gateway itself never waits on the store: a slow top-K cannot delay status,
// readiness or an ad's query. A reader that dies takes the gateway along (linked), and
// the service stops on the gateway's death like on a partition's.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/types.hpp"

namespace adclick {

class store;

/// Store readers per gateway: concurrent campaign and top-K reads.
constexpr int reader_count = 2;

struct gateway_state {
  std::uint32_t partitions_count = 0;
  std::map<std::uint32_t, caf::actor> owned;  ///< partition id -> partition actor
  store* db = nullptr;
  count_retention retention;  ///< a query before what it keeps is refused
  std::vector<caf::actor> readers;      ///< store readers (detached)
  std::vector<std::size_t> in_flight;   ///< reads asked of each reader, not yet answered
  static inline const char* name = "adclick.gateway";
};

caf::behavior gateway_actor(caf::stateful_actor<gateway_state>* self, std::uint32_t partitions_count,
                            std::map<std::uint32_t, caf::actor> owned, store* db,
                            count_retention retention = {});

}  // namespace adclick
