// The NATS ingress of one partition: a plain thread (NATS I/O blocks, so it never runs on
// a CAF worker) that fetches from the partition's durable pull consumer, decodes each
// ClickBatch into plain clicks, sends one ingest_batch per fetch to the partition actor,
// and acks what the partition's ack_cursor says is durable.
//
// Binding: before reading, the ingress makes sure the clicks stream exists (creating it
// if the broker came back without it) and is the stream the partition counts in (its
// creation time, ack_cursor::stream_created_ns). A partition that never saw a stream
// adopts this one; a different one (the stream was deleted and recreated: its sequences
// start again at 1) is refused, the ingress halts and says why in its status, unless
// ingest.accept-new-stream is on: then the partition rebases onto it and every message
// of the new stream counts. The consumer is then recreated to deliver from the last
// forwarded sequence + 1. If the stream's first sequence is past that (messages removed
// by retention or a purge before they were read), the gap is logged and counted as
// missing, and reading goes on.
//
// Acks: unacked messages are kept in delivery order and the highest stream sequence of
// the longest durable prefix is acked (AckAll; see plan_ack). That never acks a message
// whose checkpoint is not durable.
// Flow control: at most max_ack_pending messages, and about max_unacked_bytes of decoded
// clicks (one fetch may go past it), are fetched and not yet acked; one fetch asks for at
// most fetch_max_bytes of payload. The bytes bound what a backlog can pile up in memory:
// the decoded batches in the partition's mailbox, the ad actors' click batches, and the
// rows a failing checkpoint carries all belong to unacked messages.
// Lost deliveries: the consumer sequence numbers every delivery. A gap means a delivery
// never arrived (say the server dropped a slow connection); the ingress then forwards
// nothing after it and re-binds. The same follows any disconnect (nats_connection::epoch),
// because lost *last* deliveries show no gap until AckWait redelivers them, a fetch error
// whose cause is a deleted consumer or stream, and a health check every few seconds that
// finds the consumer gone or the stream replaced.
//
// Idle advance (DESIGN 4.1): when a fetch has just come back empty and nothing arrived for
// idle_advance, the ingress publishes an idle-advance marker (an empty message with header
// Adclick-Idle-Advance: <ms>) to the partition's own subject. JetStream appends it after
// everything already in the stream, so when the partition reads it, it has read every
// click published before it: the watermark may then move to the marker's publish time
// minus idle_advance. A stalled connection or a backlog can never advance the watermark
// past clicks still waiting, and a replay of the stream decides the same.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor.hpp>

#include "actors/ack_cursor.hpp"
#include "gateway/nats/nats_client.hpp"
#include "messages/types.hpp"

namespace adclick {

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

/// The header that marks an idle-advance marker; its value is idle_advance in ms.
constexpr const char* idle_advance_header = "Adclick-Idle-Advance";

struct ingress_config {
  std::uint32_t partition = 0;
  stream_spec stream;           ///< the clicks stream, created if the broker lost it
  std::string durable;          ///< consumer name
  std::string filter_subject;   ///< <prefix>.clicks.<partition>
  int fetch_batch = 256;
  std::int64_t fetch_max_bytes = 1 << 20;  ///< payload bytes per fetch (see pull_subscription::fetch)
  std::int64_t max_ack_pending = 20000;
  std::uint64_t max_unacked_bytes = 32u << 20;  ///< decoded clicks (sizeof(click) each) and reply subjects
  std::int64_t ack_wait_ms = 60000;
  bool accept_new_stream = false;     ///< rebase onto a recreated stream instead of halting
  std::int64_t idle_advance_ms = 0;   ///< 0: publish no idle-advance markers
  std::int64_t health_interval_ms = 5000;
  /// Non-zero: forward nothing past this stream sequence, and stop once it is reached or
  /// passed (reconcile replays exactly as far as the service has counted).
  std::uint64_t stop_at_seq = 0;
};

class nats_ingress {
 public:
  nats_ingress(nats_connection& nc, caf::actor partition, std::shared_ptr<ack_cursor> cursor, ingress_config cfg);
  ~nats_ingress();  ///< stops and joins

  void start();
  /// Asks the thread to finish its current fetch and end; returns at once.
  void request_stop() { stop_ = true; }
  /// request_stop() and join.
  void stop();

  ingress_status status() const;
  std::uint32_t partition() const { return cfg_.partition; }
  /// True once the thread has ended by itself (stop_at_seq reached).
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  class session;
  void run();
  void set_halted(std::string why);

  nats_connection& nc_;
  caf::actor partition_;
  std::shared_ptr<ack_cursor> cursor_;
  ingress_config cfg_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::atomic<bool> running_{false};
  std::atomic<std::uint64_t> fetched_{0}, acked_{0}, gaps_{0}, unacked_{0}, recreated_{0}, missing_{0}, markers_{0},
    last_forwarded_{0}, stream_pending_{0}, unacked_bytes_{0};
  mutable std::mutex halted_mutex_;
  std::string halted_;
};

}  // namespace adclick
