// The outbox publisher: one thread that publishes the outbox rows of the store (FinalCount
// for billing on <prefix>.final.<ad>, rejected input on <prefix>.dlq) to their JetStream
// streams, ADCLICK_FINAL and ADCLICK_DLQ, and removes them once the stream has
// acknowledged them. A row is written in the same checkpoint as the decision it reports,
// so nothing decided is lost in a crash and nothing undecided is published.
//
// Exactly once for a stream consumer: every row carries a Nats-Msg-Id (<ad>:<minute>:
// <version> for finals, <stream>:<seq>:<n> for the DLQ), so a publish repeated within the
// stream's duplicate window is dropped by JetStream. A row published but not yet removed
// when the process died is published again after the restart, possibly later than that
// window: so at start, before publishing anything, the publisher reads the ids the streams
// received since the oldest row was written (less a margin for clock skew) and removes the
// rows already there without publishing them.
//
// Rows are published per partition in outbox order, a batch at a time; each row is
// removed as soon as its stream acknowledges it. A row that failed is published again
// later (same id); if its publish may have been stored without an acknowledgement (a
// timeout, a lost connection), the streams are checked for it first, as at start.
//
// Thread safety: poke() and status() from any thread; the rest from the owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

#include "messages/subjects.hpp"
#include "messages/types.hpp"

namespace adclick {

class fault_switch;
class js_publisher;
class nats_connection;
class store;

class outbox_publisher {
 public:
  /// `faults` may be null (outbox-hold, outbox-keep are for tests).
  outbox_publisher(nats_connection& nc, store& db, std::vector<std::uint32_t> partitions, subjects names,
                   std::shared_ptr<fault_switch> faults = nullptr);
  ~outbox_publisher();  ///< stops and joins

  void start();
  void stop();
  /// New rows are durable: publish them soon.
  void poke();
  outbox_status stats() const;

 private:
  void run();
  bool check_published();
  bool publish_partition(std::uint32_t partition);
  bool wait(std::chrono::milliseconds timeout);
  void set_error(std::string text);

  nats_connection& nc_;
  store& db_;
  std::vector<std::uint32_t> partitions_;
  subjects names_;
  std::shared_ptr<fault_switch> faults_;
  std::map<std::uint32_t, std::uint64_t> next_seq_;  ///< per partition: the first row not yet published
  std::unique_ptr<js_publisher> pub_;
  bool recheck_ = false;  ///< a publish may be stored unacknowledged: check before retrying
  bool check_first_ = false;  ///< rows after failed checkpoints wait for a check
  std::map<std::uint32_t, std::uint64_t> checked_before_;  ///< per partition: rows below it were checked
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool poked_ = false;
  bool stop_ = false;
  outbox_status stats_;
};

/// The Nats-Msg-Id headers of every message in `stream` stored at or after `since_ns` (a
/// temporary consumer reads them up to the stream's last sequence at the time of the call).
caf::expected<std::set<std::string>> published_msg_ids(nats_connection& nc, const std::string& stream,
                                                       std::int64_t since_ns);

}  // namespace adclick
