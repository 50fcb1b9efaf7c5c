// The NATS ingress of one partition: a plain thread (NATS I/O blocks, so it never runs on
// a CAF worker) that fetches from the partition's durable pull consumer, decodes each
// ClickBatch into plain clicks, sends one ingest_batch per fetch to the partition actor,
// and acks what the partition's ack_cursor says is durable.
//
// Acks: unacked messages are kept in delivery order and only the last message of the
// longest durable prefix is acked (AckAll). That never acks a message whose checkpoint is
// not durable, whether the server reads AckAll by delivery or by stream sequence.
// Flow control: at most max_ack_pending messages are fetched and not yet acked, and one
// fetch asks for at most fetch_max_bytes of payload.
// Lost deliveries: the consumer sequence numbers every delivery. A gap means a delivery
// never arrived (say the server dropped a slow connection); the ingress then forwards
// nothing after it and recreates the consumer at the last forwarded stream sequence + 1.
// The same re-sync follows any disconnect (nats_connection::epoch), because lost *last*
// deliveries show no gap until AckWait redelivers them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor.hpp>

#include "actors/ack_cursor.hpp"
#include "actors/egress.hpp"

namespace adclick {

class nats_connection;

/// Which unacked delivery to ack with AckAll. `pending` holds the unacked deliveries in
/// delivery order, `seq_of` gives a delivery's stream sequence, `durable` is the highest
/// stream sequence whose checkpoint is durable. The durable prefix is the longest run of
/// leading deliveries at or below `durable`; acking the one with the highest stream
/// sequence in it is safe whether the server applies AckAll by stream sequence
/// (nats-server 2.9 does: every pending message at or below it) or by delivery order
/// (only deliveries inside the prefix), and after a redelivery (a lower sequence
/// delivered last) it acks the whole prefix, not only up to the last delivered.
struct ack_plan {
  std::size_t prefix = 0;  ///< leading deliveries now acked; 0: nothing to ack
  std::size_t index = 0;   ///< the delivery to ack
};
template <class Range, class SeqOf>
ack_plan plan_ack(const Range& pending, std::uint64_t durable, SeqOf seq_of) {
  ack_plan plan;
  std::uint64_t highest = 0;
  for (const auto& delivery : pending) {
    const std::uint64_t seq = seq_of(delivery);
    if (seq > durable) break;
    if (seq >= highest) {
      highest = seq;
      plan.index = plan.prefix;
    }
    ++plan.prefix;
  }
  return plan;
}

struct ingress_config {
  std::uint32_t partition = 0;
  std::string stream;
  std::string durable;          ///< consumer name
  std::string filter_subject;   ///< <prefix>.clicks.<partition>
  int fetch_batch = 256;
  std::int64_t fetch_max_bytes = 1 << 20;  ///< payload bytes per fetch (see pull_subscription::fetch)
  std::int64_t max_ack_pending = 20000;
};

class nats_ingress {
 public:
  /// `out` receives messages the decoder rejected (may be null).
  nats_ingress(nats_connection& nc, caf::actor partition, std::shared_ptr<ack_cursor> cursor,
               ingress_config cfg, egress* out = nullptr);
  ~nats_ingress();  ///< stops and joins

  void start();
  /// Asks the thread to finish its current fetch and end; returns at once.
  void request_stop() { stop_ = true; }
  /// request_stop() and join.
  void stop();

  std::uint64_t messages_fetched() const { return fetched_.load(std::memory_order_relaxed); }
  std::uint64_t messages_acked() const { return acked_.load(std::memory_order_relaxed); }
  /// Messages forwarded and not yet acked (a re-sync voids the old ones: they come again).
  std::uint64_t messages_unacked() const { return unacked_.load(std::memory_order_relaxed); }
  /// Times a lost delivery was detected and the consumer re-synced.
  std::uint64_t delivery_gaps() const { return gaps_.load(std::memory_order_relaxed); }
  bool running() const { return running_.load(std::memory_order_relaxed); }
  std::uint32_t partition() const { return cfg_.partition; }

 private:
  void run();

  nats_connection& nc_;
  egress* out_;
  caf::actor partition_;
  std::shared_ptr<ack_cursor> cursor_;
  ingress_config cfg_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<std::uint64_t> fetched_{0};
  std::atomic<std::uint64_t> acked_{0};
  std::atomic<std::uint64_t> gaps_{0};
  std::atomic<std::uint64_t> unacked_{0};
};

}  // namespace adclick
