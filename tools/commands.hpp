// The subcommands of the `adclick` CLI. Each returns the process exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adclick {

struct load_options {
  std::string nats = "nats://127.0.0.1:4222";
  std::string prefix = "adclick";
  std::uint32_t partitions = 16;
  std::uint64_t clicks = 100000;
  std::uint64_t ads = 1000;
  std::uint32_t batch = 100;       ///< clicks per NATS message (1 = one click per message)
  double rate = 0;                 ///< clicks per second of wall time; 0 = as fast as possible
  double zipf = 0;
  std::uint64_t seed = 1;
  std::int64_t start_ms = 0;       ///< event time of the first click; 0 = now
  std::uint64_t event_rate = 10000;///< clicks per second of event time
  double dup_rate = 0;             ///< share of publishes that repeat an earlier click of this run
  double ooo_rate = 0;             ///< share of clicks up to max-out-of-orderness behind the newest
  double late_rate = 0;            ///< share of clicks for a minute already final (amendments)
  double future_rate = 0;          ///< share of clicks a day ahead of the wall clock
  double malformed_rate = 0;       ///< share of publishes that are not a ClickBatch at all
  bool replay = false;             ///< the clicks were all published before: expect duplicates
  /// The service's event-time rules, which the truth must apply the same way.
  std::int64_t ooo_ms = 5'000;
  std::int64_t lateness_ms = 10 * 60'000;
  std::int64_t horizon_ms = 60 * 60'000;
  std::int64_t future_skew_ms = 5 * 60'000;
  std::string truth;               ///< where to write the ground truth (optional)
  bool quiet = false;
};
int run_load(const load_options& opts);

struct query_options {
  std::string http = "http://127.0.0.1:8080";
  std::uint64_t ad = 0;
  std::string from, to;
  std::string granularity = "minute";
  std::string view = "live";
  bool json = false;
};
int run_query(const query_options& opts);

struct verify_options {
  std::string http = "http://127.0.0.1:8080";
  std::vector<std::string> truth;  ///< one or more truth files, merged
  std::string view = "live";
  double wait_s = 0;               ///< keep retrying this long until everything matches
  bool digest = false;             ///< also print a SHA-256 of the view over the truth's ads
};
int run_verify(const verify_options& opts);

struct wait_options {
  std::string http = "http://127.0.0.1:8080";
  std::uint64_t arrived = 0;       ///< wait until at least this many arrivals are accounted for
  double timeout_s = 300;
};
/// Waits until the service has accounted for `arrived` clicks and every fetched message is
/// checkpointed and acked. Prints the elapsed seconds.
int run_wait(const wait_options& opts);

struct null_consume_options {
  std::string nats = "nats://127.0.0.1:4222";
  std::string prefix = "adclick";
  std::uint32_t partitions = 16;
  std::uint64_t messages = 0;      ///< stop after this many messages in total
  double timeout_s = 300;
  int fetch_batch = 256;
  std::int64_t fetch_max_bytes = 1 << 20;  ///< the same bound as adclickd's ingest.fetch-max-bytes
};
/// The benchmark's raw limit: fetch, decode and ack the clicks stream and nothing else.
int run_null_consume(const null_consume_options& opts);

}  // namespace adclick
