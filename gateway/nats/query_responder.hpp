// The NATS request/reply door (DESIGN 3.2) for queries and admin verbs.
// adclick.query.<partition> takes a protobuf QueryRequest and answers a QueryResponse,
// checked and answered exactly as the HTTP API does (query_rules, the gateway actor,
// door.hpp's error mapping). It subscribes to the subject of every partition this node
// owns; an ad's query belongs on its partition's subject, campaign, advertiser and top-K
// queries on any of them. adclick.admin.<verb> takes an AdminRequest (an empty body is a
// request with defaults) and answers an AdminResponse from admin_verbs, the same
// implementation as HTTP /v1/admin/<verb>.
//
// Requests are served on nats.c's delivery thread of the subscription, one at a time per
// partition subject. Thread safety: construct and destroy on one thread; destruction
// unsubscribes and waits for a request being served.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include "messages/subjects.hpp"

namespace adclick {

class nats_connection;
class callback_subscription;
class admin_verbs;
class query_timings;

class query_responder {
 public:
  /// `admin` (if not null) answers <prefix>.admin.<verb>; it must outlive this.
  query_responder(caf::actor_system& sys, caf::actor gateway, nats_connection& nats, subjects names,
                  const admin_verbs* admin = nullptr, query_timings* timings = nullptr);
  ~query_responder();

  /// Subscribes to <prefix>.query.<p> for each of `partitions`, and to <prefix>.admin.*.
  caf::error start(const std::vector<std::uint32_t>& partitions);

  /// Serves one request's bytes (the subscription callback; public for tests).
  std::string answer(const std::string& request) const;
  /// Serves one admin request on `subject` (<prefix>.admin.<verb>). Nullopt: about an ad
  /// of a partition another node owns, which answers it (every node hears the request).
  std::optional<std::string> answer_admin(const std::string& subject, const std::string& request) const;

 private:
  caf::actor_system& sys_;
  caf::actor gateway_;
  nats_connection& nats_;
  subjects names_;
  const admin_verbs* admin_;
  query_timings* timings_;  ///< latencies of nats_query and admin requests, or null
  std::vector<std::unique_ptr<callback_subscription>> subs_;
};

}  // namespace adclick
