// The NATS request/reply door for queries (DESIGN 3.2): adclick.query.<partition> takes a
// protobuf QueryRequest and answers a QueryResponse, checked and answered exactly as the
// HTTP API does (query_rules, the gateway actor, door.hpp's error mapping). It subscribes
// to the subject of every partition this node owns; an ad's query belongs on its
// partition's subject, campaign, advertiser and top-K queries on any of them.
//
// Requests are served on nats.c's delivery thread of the subscription, one at a time per
// partition subject. Thread safety: construct and destroy on one thread; destruction
// unsubscribes and waits for a request being served.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include "messages/subjects.hpp"

namespace adclick {

class nats_connection;
class callback_subscription;

class query_responder {
 public:
  query_responder(caf::actor_system& sys, caf::actor gateway, nats_connection& nats, subjects names);
  ~query_responder();

  /// Subscribes to <prefix>.query.<p> for each of `partitions`.
  caf::error start(const std::vector<std::uint32_t>& partitions);

  /// Serves one request's bytes (the subscription callback; public for tests).
  std::string answer(const std::string& request) const;

 private:
  caf::actor_system& sys_;
  caf::actor gateway_;
  nats_connection& nats_;
  subjects names_;
  std::vector<std::unique_ptr<callback_subscription>> subs_;
};

}  // namespace adclick
