// The HTTP front door (cpp-httplib; this file's .cpp is the only one in gateway/ that
// includes it): the query API, health and status, on one port.
//
// Endpoints (README "HTTP API"):
//   GET /                       the dashboard (web/), and /assets/<file>
//   GET /v1/ads/{ad_id}/clicks?from=&to=&granularity=minute&view=live|billing
//   GET /v1/campaigns/{id}/clicks, /v1/advertisers/{id}/clicks   the same shape
//   GET /v1/top?from=&to=&k=&by=&view=
//   GET /v1/stream?ads=&campaigns=&advertisers=   Server-Sent Events of live updates
//   GET  /v1/admin/status|lag|hot?k=|inspect?ad=   the admin verbs (gateway/admin.hpp),
//   POST /v1/admin/checkpoint|passivate?ad=         as JSON; the verbs that change state
//                                                   take POST only (405 for GET)
//   GET /metrics               Prometheus text (gateway/http/metrics.hpp)
//   GET /livez                 200 while the process serves
//   GET /readyz                200 when every owned partition is recovered, bound to its
//                              stream and checkpointing; 503 with the reasons otherwise
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

#include "gateway/admin.hpp"
#include "messages/types.hpp"

namespace adclick {

class live_fanout;
class query_timings;

class http_api {
 public:
  struct options {
    std::int64_t checkpoint_max_age_ms = 30'000;
    live_fanout* live = nullptr;         ///< SSE sessions (GET /v1/stream); null: 404
    std::int64_t live_heartbeat_ms = 15'000;
    std::int64_t live_replay_ms = 3'600'000;
    query_timings* timings = nullptr;    ///< where query latencies go (/metrics); null: none
    std::string version;                 ///< adclick_build_info
  };
  /// `outside` reports the ingress threads, the outbox publisher and NATS of this node;
  /// `admin` answers the admin verbs (it must outlive this).
  http_api(caf::actor_system& sys, caf::actor gateway, std::function<outside_status()> outside,
           const admin_verbs& admin, options opts);
  ~http_api();

  /// Binds and starts serving on a background thread. Returns false if it cannot bind.
  bool start(const std::string& host, int port);
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
