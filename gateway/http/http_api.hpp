// The HTTP front door (cpp-httplib): the query API, health and status, on one port.
// The only file besides it that includes httplib is none: http_api.cpp owns the server.
//
// Endpoints so far:
//   GET /v1/ads/{ad_id}/clicks?from=&to=&granularity=minute&view=live
//   GET /v1/admin/status      partitions, positions and outcome counters (JSON)
//   GET /livez                 200 while the process serves
//   GET /readyz                200 once every owned partition is recovered and ingesting;
//                              503 before
// Handlers run on httplib's threads and talk to the gateway actor through scoped actors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace adclick {

/// What an ingress thread reports (it lives outside the actor system).
struct ingest_stat {
  std::uint32_t partition = 0;
  bool running = false;
  std::uint64_t fetched = 0;  ///< JetStream messages fetched
  std::uint64_t acked = 0;    ///< of those, acked after a durable checkpoint
  std::uint64_t gaps = 0;     ///< lost deliveries detected (each followed by a re-sync)
  std::uint64_t unacked = 0;  ///< forwarded and not yet acked
};

class http_api {
 public:
  /// `ingest_stats` reports every ingress thread of this node.
  http_api(caf::actor_system& sys, caf::actor gateway, std::function<std::vector<ingest_stat>()> ingest_stats);
  ~http_api();

  /// Binds and starts serving on a background thread. Returns false if it cannot bind.
  bool start(const std::string& host, int port);
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
