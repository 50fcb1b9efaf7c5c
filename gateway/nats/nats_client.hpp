// adclick's wrapper of the NATS C client: the only header of the project that speaks
// NATS, and nats_client.cpp the only file that includes nats.h. Every handle is owned
// RAII-style; every natsStatus becomes a caf::error (errc::nats) here and nowhere else.
//
// Thread safety: a nats_connection may be shared by threads (the C client is thread-safe);
// a pull_subscription belongs to one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/subjects.hpp"

namespace adclick {

/// What adclick needs of the clicks stream (DESIGN 3.2).
struct stream_spec {
  std::string name = subjects::clicks_stream;
  std::string subjects;              ///< e.g. "adclick.clicks.*"
  std::uint32_t partitions = 16;     ///< recorded in the description; checked on start
  std::int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t duplicate_window_ms = 2 * 60 * 1000;
};

/// A durable pull consumer for one partition's subject.
struct consumer_spec {
  std::string stream;
  std::string durable;
  std::string filter_subject;
  std::uint64_t start_seq = 1;       ///< first stream sequence to deliver
  std::int64_t max_ack_pending = 20000;
  std::int64_t ack_wait_ms = 60000;
};

struct consumer_state {
  std::uint64_t num_pending = 0;     ///< in the stream, not yet delivered
  std::int64_t num_ack_pending = 0;  ///< delivered, not yet acked
  std::uint64_t ack_floor_stream_seq = 0;
};

class pull_subscription;
class core_subscription;

class nats_connection {
 public:
  /// Connects (retrying in the background after a loss). `name` shows in server monitoring.
  static caf::expected<std::unique_ptr<nats_connection>> connect(const std::string& url,
                                                                 const std::string& name);
  ~nats_connection();
  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  /// Creates the stream if missing. If it exists, its recorded partition count must match
  /// `spec.partitions` (errc::format_mismatch otherwise).
  caf::error ensure_stream(const stream_spec& spec);

  /// (Re)creates the durable consumer so that it delivers from `spec.start_seq` on: the
  /// stored position, not the broker's ack floor, decides where reading resumes.
  caf::error reset_consumer(const consumer_spec& spec);

  caf::expected<consumer_state> consumer_info(const std::string& stream, const std::string& durable);

  /// Creates an extra durable consumer on all subjects for a benchmark's null consumer.
  caf::expected<std::unique_ptr<pull_subscription>> pull_subscribe(const consumer_spec& spec);

  /// JetStream publish, asynchronous, with `Nats-Msg-Id: msg_id` (empty: none). Retries
  /// while too many publishes are in flight.
  caf::error publish_async(const std::string& subject, std::string_view data,
                           const std::string& msg_id);
  /// Waits until every asynchronous publish is acknowledged (or `timeout_ms` passes).
  caf::error publish_async_complete(std::int64_t timeout_ms);
  /// Publishes that the server rejected or that timed out, since the connection opened.
  std::uint64_t publish_async_failures() const;

  /// Core NATS publish (no JetStream), e.g. acks and live updates.
  caf::error publish(const std::string& subject, std::string_view data);

  /// A plain (core NATS) subscription, e.g. to watch the DLQ or final counts.
  caf::expected<std::unique_ptr<core_subscription>> subscribe(const std::string& subject);

  /// Core NATS publish with headers (e.g. the DLQ's Adclick-Reason).
  caf::error publish_with_headers(const std::string& subject, std::string_view data,
                                  const std::vector<std::pair<std::string, std::string>>& headers);

  /// Grows each time deliveries in flight may have been lost: a disconnect, or the client
  /// dropping messages of a slow subscription. Consumers compare it across fetches.
  std::uint64_t epoch() const;
  caf::error flush(std::int64_t timeout_ms);

  struct impl;  ///< opaque; public only so that nats.c's callbacks can name it

 private:
  explicit nats_connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  friend class pull_subscription;
  friend class core_subscription;
};

/// A synchronous core NATS subscription.
class core_subscription {
 public:
  struct message {
    std::string subject;
    std::string data;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string header(const std::string& key) const;
  };
  ~core_subscription();
  /// The next message, or nullopt after `timeout_ms` without one.
  std::optional<message> next(std::int64_t timeout_ms);

 private:
  friend class nats_connection;
  struct impl;
  explicit core_subscription(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// A bound pull subscription on a durable consumer.
class pull_subscription {
 public:
  struct message {
    std::uint64_t stream_seq;
    std::uint64_t consumer_seq;  ///< numbers every delivery of this consumer, 1, 2, 3, ...
    std::string_view data;
    std::string_view reply;  ///< the ack subject; valid only during the visit
  };

  ~pull_subscription();

  /// Fetches up to `batch` messages and at most `max_bytes` of payload, waiting at most
  /// `timeout_ms`. Calls `visit` for each, in delivery order. A timeout with no message
  /// is not an error: returns 0. Returns the number of messages visited.
  ///
  /// Bound `max_bytes` so that all fetches in flight on one connection stay below the
  /// server's per-connection pending limit (64 MiB by default): past it the server cuts
  /// the connection as a slow consumer and the deliveries in flight are lost.
  caf::expected<std::size_t> fetch(int batch, std::int64_t max_bytes, std::int64_t timeout_ms,
                                   const std::function<void(const message&)>& visit);

  /// Acknowledges the message whose ack subject is `reply` (AckAll: and every message
  /// delivered before it).
  caf::error ack(const std::string& reply);

 private:
  friend class nats_connection;
  struct impl;
  explicit pull_subscription(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
