// The admin verbs (DESIGN 5), one implementation behind every door: HTTP /v1/admin/<verb>
// (JSON), NATS request/reply on <prefix>.admin.<verb> (protobuf), and through those
// `adclick admin <verb>`. Verbs:
//   status      every owned partition: stream position, consumer and watermark lag,
//               checkpoint health, active and passivated ads, mailbox, outcome counters;
//               totals, readiness with reasons, the outbox, NATS, the window rules
//   inspect     one ad: its actor's minutes, ids in memory and on disk, outcomes, mailbox,
//               rate, idle time; for a passivated ad, what the store holds (saying so)
//   hot         the k ads with the highest recent click rate
//   checkpoint  a checkpoint of every partition now; answers when durable
//   passivate   stops one ad's actor once its state is durable
//   lag         consumer and watermark lag only, for alerting scripts
// Answers are adclick.v1.AdminResponse (messages/adclick/v1/admin.proto); errors carry the
// status and code HTTP gives (gateway/door.hpp).
//
// Thread safety: run() is called from door threads (httplib's, nats.c's) concurrently;
// it asks the gateway actor through a scoped actor and reads `outside` (thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "common/process_memory.hpp"
#include "adclick/v1/admin.pb.h"
#include "messages/types.hpp"

namespace adclick {

/// The NATS connection as the service sees it.
struct nats_status {
  bool connected = true;
  std::uint64_t disconnects = 0;
  std::uint64_t reconnects = 0;
};

/// What lives outside the actor system: the ingress threads, the outbox publisher, NATS.
struct outside_status {
  std::vector<ingress_status> ingress;
  outbox_status outbox;
  nats_status nats;
  storage_status storage;  ///< retention and the store's size by kind
  process_memory memory;
};

/// Why the service is not ready; empty when it is. `max_age_ms` is checkpoint.max-age.
std::vector<std::string> readiness_problems(const std::vector<partition_status>& partitions,
                                            const outside_status& outside, std::int64_t max_age_ms,
                                            std::int64_t now_ms);

/// Status and lag as the verbs answer them, from what the partitions and the outside
/// report at `now_ms` (pure: unit-tested alone).
v1::StatusReply status_reply(const std::vector<partition_status>& partitions, const outside_status& outside,
                             std::int64_t max_age_ms, std::uint32_t partitions_count, const window_rules& rules,
                             std::int64_t now_ms);
v1::LagReply lag_reply(const v1::StatusReply& status);

class admin_verbs {
 public:
  struct options {
    std::int64_t checkpoint_max_age_ms = 30'000;
    std::uint32_t partitions_count = 16;
    window_rules rules;
  };

  admin_verbs(caf::actor_system& sys, caf::actor gateway, std::function<outside_status()> outside, options opts);

  /// Runs `req` (its verb; the NATS door fills it from the subject).
  v1::AdminResponse run(const v1::AdminRequest& req) const;

  /// The status as the verb answers it, with the partitions' own reports (/metrics).
  struct snapshot {
    v1::StatusReply status;
    std::vector<partition_status> partitions;
  };
  caf::expected<snapshot> take_snapshot() const;

  /// The verbs, for doors that list them.
  static const std::vector<std::string>& verbs();

 private:
  caf::actor_system& sys_;
  caf::actor gateway_;
  std::function<outside_status()> outside_;
  options opts_;
  /// checkpoint and passivate in progress: each may wait a minute on a stuck disk and
  /// holds a door thread meanwhile, so only a few run at once (the others get 503 busy).
  mutable std::atomic<int> changing_{0};
  std::shared_ptr<void> take_changing_slot() const;
};

/// How many checkpoint and passivate requests may wait at once.
constexpr int max_changing_admin = 2;

/// The reply inside an AdminResponse that succeeded (the oneof that is set), or the
/// response itself when it failed: what the HTTP door renders as JSON.
const google::protobuf::Message& admin_body(const v1::AdminResponse& r);

}  // namespace adclick
