// The hand-off between a partition actor and its NATS ingress thread: the partition
// actor publishes the highest stream sequence whose effects are in a durable checkpoint;
// the ingress acks JetStream messages up to it and never beyond. CAF-free, lock-free.
#pragma once

#include <atomic>
#include <cstdint>

namespace adclick {

struct ack_cursor {
  /// Written by the partition actor after a checkpoint is durable; read by the ingress.
  std::atomic<std::uint64_t> durable_seq{0};
  /// The stream (its creation time) that the partition's sequences count in: loaded with
  /// its position, replaced by a rebase. The ingress forwards nothing of a stream until
  /// the partition counts in it (0: the partition has never seen a stream).
  std::atomic<std::int64_t> stream_created_ns{0};
  /// Set by the partition actor once it has loaded its position; the ingress waits for it.
  std::atomic<bool> ready{false};
  /// Batches the ingress has sent the partition actor (ingest_batch); with the ones the
  /// partition has handled, how many wait in its mailbox. (CAF 0.17's mailbox().size()
  /// is undefined behaviour by UBSan's reading of its intrusive queue.)
  std::atomic<std::uint64_t> batches_sent{0};
};

}  // namespace adclick
