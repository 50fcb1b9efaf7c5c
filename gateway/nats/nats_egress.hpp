// egress over NATS: rejected input to <prefix>.dlq with header Adclick-Reason (and
// Adclick-Rejected, the number of clicks rejected in the message), final and amended
// buckets to <prefix>.final.<ad_id> as adclick.v1.FinalCount. Core NATS publishes:
// buffered by the client, so callers do not wait on the network.
#pragma once

#include <atomic>
#include <string>

#include "actors/egress.hpp"
#include "messages/subjects.hpp"

namespace adclick {

class nats_connection;

class nats_egress final : public egress {
 public:
  nats_egress(nats_connection& nc, subjects names);
  void rejected(const click& c, outcome reason) override;
  void rejected_bytes(std::string_view data, outcome reason, std::uint64_t rejected_count) override;
  void finals(std::uint64_t ad_id, const std::vector<minute_count>& buckets) override;

  std::uint64_t dlq_published() const { return dlq_.load(std::memory_order_relaxed); }
  std::uint64_t finals_published() const { return finals_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  nats_connection& nc_;
  subjects names_;
  std::atomic<std::uint64_t> dlq_{0}, finals_{0}, failures_{0};
};

}  // namespace adclick
