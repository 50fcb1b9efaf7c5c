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

/// A JetStream stream adclick creates when it is missing (DESIGN 3.2).
struct stream_spec {
  std::string name = subjects::clicks_stream;
  std::string subjects;              ///< e.g. "adclick.clicks.*"
  /// Recorded when the stream is created. With `must_match`, an existing stream with
  /// another description is an error (the clicks stream records its partition count).
  std::string description;
  bool must_match = false;
  std::int64_t max_age_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t duplicate_window_ms = 2 * 60 * 1000;
};

/// The clicks stream: `partitions` is recorded in its description and checked on start.
stream_spec clicks_stream_spec(const subjects& names, std::uint32_t partitions);
/// ADCLICK_FINAL (FinalCount for billing, 30 days) and ADCLICK_DLQ (7 days).
stream_spec finals_stream_spec(const subjects& names);
stream_spec dlq_stream_spec(const subjects& names);

/// A stream as the server has it now.
struct stream_state {
  std::int64_t created_ns = 0;  ///< its identity: a recreated stream has another
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t messages = 0;
};

/// A durable pull consumer for one partition's subject.
struct consumer_spec {
  std::string stream;
  std::string durable;
  std::string filter_subject;
  std::uint64_t start_seq = 1;       ///< first stream sequence to deliver
  std::int64_t start_time_ns = 0;    ///< if set: deliver from this time instead
  std::int64_t max_ack_pending = 20000;
  std::int64_t ack_wait_ms = 60000;
  std::int64_t inactive_threshold_ms = 0;  ///< if set: the server deletes it when unused this long
};

using nats_headers = std::vector<std::pair<std::string, std::string>>;

struct consumer_state {
  std::uint64_t num_pending = 0;     ///< in the stream, not yet delivered
  std::int64_t num_ack_pending = 0;  ///< delivered, not yet acked
  std::uint64_t ack_floor_stream_seq = 0;
};

class pull_subscription;
class core_subscription;
class callback_subscription;

/// A core NATS message.
struct core_message {
  std::string subject;
  std::string reply;  ///< where a request wants its answer (empty: not a request)
  std::string data;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& key) const;
};

class js_publisher;

class nats_connection {
 public:
  /// Connects (retrying in the background after a loss). `name` shows in server monitoring;
  /// `token` (if not empty) authenticates to a server started with --auth.
  static caf::expected<std::unique_ptr<nats_connection>> connect(const std::string& url,
                                                                 const std::string& name,
                                                                 const std::string& token = {});
  ~nats_connection();
  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  /// Creates the stream if missing and returns its state. With spec.must_match, an
  /// existing stream must have spec.description (errc::format_mismatch otherwise).
  caf::expected<stream_state> ensure_stream(const stream_spec& spec);

  /// The stream's state; errc::nats with "not found" in the text if it does not exist
  /// (see is_not_found).
  caf::expected<stream_state> stream_info(const std::string& name);
  caf::error delete_stream(const std::string& name);
  caf::error purge_stream(const std::string& name);
  caf::error delete_consumer(const std::string& stream, const std::string& durable);

  /// A publisher with its own JetStream context, so that its acks and failures are its
  /// own. With `resend`, a publish that fails or is not acknowledged within
  /// `ack_timeout_ms` is sent again (same Nats-Msg-Id) until it is.
  caf::expected<std::unique_ptr<js_publisher>> make_publisher(bool resend = false,
                                                              std::int64_t ack_timeout_ms = 5000);

  /// (Re)creates the durable consumer so that it delivers from `spec.start_seq` on: the
  /// stored position, not the broker's ack floor, decides where reading resumes.
  caf::error reset_consumer(const consumer_spec& spec);

  /// The consumer's state; an error for which is_not_found() holds if it does not exist.
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

  /// A plain (core NATS) subscription, e.g. to watch the DLQ or final counts.
  caf::expected<std::unique_ptr<core_subscription>> subscribe(const std::string& subject);
  /// A core subscription whose messages go to `on_message` on a nats.c thread (one at a
  /// time per subscription). Destroying the handle unsubscribes and waits until no call
  /// is running any more.
  caf::expected<std::unique_ptr<callback_subscription>> subscribe(
    const std::string& subject, std::function<void(core_message&&)> on_message);
  /// Core NATS publish (no JetStream): replies, live updates.
  caf::error publish(const std::string& subject, const std::string& data);
  /// Core NATS request: publishes `data` and waits up to `timeout_ms` for the reply.
  caf::expected<std::string> request(const std::string& subject, const std::string& data, std::int64_t timeout_ms);

  /// Grows each time deliveries in flight may have been lost: a disconnect, or the client
  /// dropping messages of a slow subscription. Consumers compare it across fetches.
  std::uint64_t epoch() const;
  caf::error flush(std::int64_t timeout_ms);

  /// True while the connection is up (not reconnecting or closed).
  bool connected() const;
  /// Times the connection was lost, and times it was re-established, since it opened.
  std::uint64_t disconnects() const;
  std::uint64_t reconnects() const;
  /// The largest payload the server takes (its max_payload).
  std::int64_t max_payload() const;

  struct impl;  ///< opaque; public only so that nats.c's callbacks can name it

 private:
  explicit nats_connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
  friend class pull_subscription;
  friend class core_subscription;
  friend class js_publisher;
};

/// True if `err` says a stream or consumer does not exist.
bool is_not_found(const caf::error& err);

/// Asynchronous JetStream publishes on a context of their own (see make_publisher).
/// Belongs to one thread.
class js_publisher {
 public:
  ~js_publisher();
  /// Publishes with `Nats-Msg-Id: msg_id` (empty: none) and `headers`. Waits while too
  /// many publishes are in flight.
  caf::error publish(const std::string& subject, std::string_view data, const std::string& msg_id,
                     const nats_headers& headers = {});
  /// Waits until every publish so far is acknowledged or has failed (at most
  /// `timeout_ms`); returns how many failed (were refused or not acknowledged) since the
  /// last call. An error if the wait timed out.
  caf::expected<std::uint64_t> settle(std::int64_t timeout_ms);
  /// Publishes sent again after a failure (resend mode).
  std::uint64_t resent() const;
  /// When `stream` stored the last message on `subject` (ms since the epoch, the time
  /// consumers see), which must carry `Nats-Msg-Id: msg_id`. Settle first.
  caf::expected<std::int64_t> stored_time_ms(const std::string& stream, const std::string& subject,
                                             const std::string& msg_id);

  /// A publish that failed (not in resend mode).
  struct failure {
    std::string msg_id;
    /// Not acknowledged in time (or the connection was lost): the stream may have stored
    /// it. Otherwise the server refused it or nobody stores its subject.
    bool maybe_stored = false;
  };
  /// The failed publishes since the last call, by Nats-Msg-Id.
  std::vector<failure> take_failures();

  struct impl;  ///< opaque; public only so that nats.c's callbacks can name it

 private:
  friend class nats_connection;
  explicit js_publisher(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// A core subscription with a callback (nats_connection::subscribe).
class callback_subscription {
 public:
  ~callback_subscription();
  struct impl;  ///< opaque; public only so that nats.c's callbacks can name it

 private:
  friend class nats_connection;
  explicit callback_subscription(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// A synchronous core NATS subscription.
class core_subscription {
 public:
  using message = core_message;
  ~core_subscription();
  /// The next message, or nullopt after `timeout_ms` without one.
  std::optional<message> next(std::int64_t timeout_ms);

 private:
  friend class nats_connection;
  struct impl;
  explicit core_subscription(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// What a JetStream delivery's ack subject says about it.
struct delivery_meta {
  std::uint64_t delivered = 0;     ///< how many times this message was delivered, this one included
  std::uint64_t stream_seq = 0;
  std::uint64_t consumer_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::uint64_t num_pending = 0;
};
/// Parses "$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>",
/// and the form with a domain and an account hash before the stream (and a token after
/// the pending count); nothing for anything else.
std::optional<delivery_meta> parse_ack_subject(std::string_view reply);

/// A pull consumer, fetched over core NATS: each fetch publishes one request
/// ($JS.API.CONSUMER.MSG.NEXT) that the server answers on a reply subject of its own.
/// Not nats.c's fetch: in 3.4 (Debian 12) it writes past its list when an earlier fetch
/// left deliveries behind (nats.c #749), see fetch(). A bound pull subscription on a
/// durable consumer; belongs to one thread.
class pull_subscription {
 public:
  struct message {
    std::uint64_t stream_seq;
    std::uint64_t consumer_seq;  ///< numbers every delivery of this consumer, 1, 2, 3, ...
    std::int64_t timestamp_ns;   ///< when the server stored it
    std::uint64_t num_pending;   ///< messages for this consumer in the stream after this one
    std::string_view data;
    std::string_view reply;  ///< the ack subject; valid only during the visit
    /// A header's value (empty if absent); valid only during the visit.
    std::string_view header(const char* key) const;
    const void* native;      ///< the natsMsg
  };

  ~pull_subscription();

  /// Fetches up to `batch` messages and at most `max_bytes` of payload, waiting at most
  /// `timeout_ms`. Calls `visit` for each, in delivery order. A timeout with no message
  /// is not an error: returns 0. Returns the number of messages visited, never more than
  /// `batch`.
  ///
  /// Deliveries that arrive after an earlier fetch gave up (its server-side request was
  /// still open) are taken first, without asking for more; they stay in order, since one
  /// consumer delivers in order whichever request they answer. A status answering this
  /// fetch's own request ends it: 404 and 408 with what it has, 409 (consumer deleted, a
  /// request limit) as an error if it has nothing; a status for an earlier request is
  /// ignored. No responders (503: no consumer took the request) is an error, and so is a
  /// delivery whose ack subject does not parse.
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
