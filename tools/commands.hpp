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
  double event_rate = 10000;       ///< clicks per second of event time (may be below 1)
  double dup_rate = 0;             ///< share of publishes that repeat an earlier click of this run
  /// Repeats are drawn from the last this many clicks (0: from the whole run). A window
  /// beyond a million keeps an evenly spaced sample of a million, so that a long run at a
  /// high rate stays in bounded memory.
  std::uint64_t dup_window = 0;
  double ooo_rate = 0;             ///< share of clicks up to max-out-of-orderness behind the newest
  double late_rate = 0;            ///< share of clicks for a minute already final (amendments)
  double future_rate = 0;          ///< share of clicks a day ahead of the wall clock
  double malformed_rate = 0;       ///< share of publishes that are not a ClickBatch at all
  double wrong_partition_rate = 0; ///< share of clicks published on another partition's subject
  std::int64_t clock_skew_ms = 0;  ///< the publisher's clock is this far ahead (negative: behind)
  std::int64_t publish_delay_ms = 0;  ///< each message reaches the broker this long after it was built
  bool replay = false;             ///< the clicks were all published before: expect duplicates
  std::string id_layout = "random";  ///< random, or sequenced (README "Click ids")
  std::uint32_t minters = 4;       ///< with sequenced ids: how many ad servers mint them
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
  /// The service's idle advance may have finalized buckets the truth leaves open (its
  /// markers are not in the truth): accept such a bucket as final, version 1, same count.
  bool allow_idle_final = false;
  /// minute: every (ad, minute) of the truth; hour or day: the truth's minutes rolled up
  /// into the ad's hours or days (what is left to check once the minutes are past
  /// retention.minute).
  std::string granularity = "minute";
};
int run_verify(const verify_options& opts);

struct truth;
/// Compares the service (opts.http, opts.view) with `t`, retrying for opts.wait_s; prints
/// OK or the differences prefixed with `who`. Exit code: 0 on a match, 1 otherwise.
int verify_truth(const truth& t, const verify_options& opts, const char* who);

struct reconcile_options {
  std::string nats = "nats://127.0.0.1:4222";
  std::string http = "http://127.0.0.1:8080";
  std::string prefix = "adclick";
  std::string from, to;            ///< compare only buckets in [from, to) (RFC 3339 or epoch ms)
  double wait_s = 60;              ///< wait this long for the service to be settled
  bool keep = false;               ///< keep the scratch store (its path is printed)
  /// minute, or hour or day: compare the ads' hours or days with the replay's minutes rolled
  /// up (once minutes are past retention.minute, the service refuses them with 410).
  std::string granularity = "minute";
};
/// Replays the clicks stream through the same counting code into a scratch store, without
/// touching the service, and compares every (ad, minute) count, state and version and the
/// outcome totals with the service's billing view. Exit 1 on any difference.
int run_reconcile(const reconcile_options& opts);

struct admin_options {
  std::string http = "http://127.0.0.1:8080";
  std::string nats;                ///< set: ask over NATS request/reply instead of HTTP
  std::string prefix = "adclick";
  std::string verb;                ///< status, inspect, hot, checkpoint, passivate, lag
  std::uint64_t ad = 0;            ///< inspect, passivate
  std::uint32_t k = 10;            ///< hot
  bool json = false;               ///< print the service's JSON instead of a table
};
/// Runs one admin verb; exit 0 on success, 1 when the service refused (its error on
/// stderr), 2 when it could not be reached.
int run_admin(const admin_options& opts);

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

struct top_options {
  std::string http = "http://127.0.0.1:8080";
  std::string from, to;
  std::uint32_t k = 10;
  std::string by = "ad";
  std::string view = "live";
  bool json = false;
};
/// Prints the exact top-K (GET /v1/top) as a table.
int run_top(const top_options& opts);

struct tail_options {
  std::string http = "http://127.0.0.1:8080";
  std::string ads, campaigns, advertisers;  ///< comma-separated ids
  std::string last_event_id;                ///< resume after this event
  std::uint64_t events = 0;                 ///< stop after this many events (0: never)
  double seconds = 0;                       ///< stop after this long (0: never)
  bool json = false;                        ///< print each event's JSON as it came
};
/// Prints live updates (GET /v1/stream, Server-Sent Events) as they come.
int run_tail(const tail_options& opts);

struct bench_read_options {
  std::string http = "http://127.0.0.1:8080";
  std::string nats = "nats://127.0.0.1:4222";
  std::string prefix = "adclick";
  std::uint32_t partitions = 16;
  bool queries = true;
  std::uint64_t ad = 1;              ///< the ad of the one-ad queries
  int iterations = 200;
  std::uint64_t probes = 0;          ///< click-to-live probes (0: none)
  std::uint64_t probe_ad = 999'999'999;
  int probe_interval_ms = 100;
  std::uint64_t seed = 1;            ///< makes the probes' click ids differ between runs
};
/// The read side's latencies (scripts/bench.sh): queries, and click to live update. JSON out.
int run_bench_read(const bench_read_options& opts);

}  // namespace adclick
