// The service configuration: every adclickd option, its default, and its validation.
//
// Options come from (lowest to highest precedence) built-in defaults, the INI file
// (adclick.ini in the working directory, or --config-file=PATH), command-line flags
// --group.key=value, and environment variables ADCLICK_<GROUP>_<KEY> (upper case, '-' as
// '_': ADCLICK_NATS_URL, ADCLICK_CHECKPOINT_MAX_AGE), for containers. An unknown key is an
// error wherever it is given, with its name. Values take the forms of option_values.hpp.
// Secrets (nats.token) come only from the environment or a file named by an option
// (nats.token-file), never from a flag (every user sees flags in ps) or the INI file
// (config files get copied and committed). config/adclick.example.ini lists every option.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include "messages/types.hpp"

namespace adclick {

class adclick_config : public caf::actor_system_config {
 public:
  adclick_config();

  // [nats]
  std::string nats_url;          ///< empty: use the embedded server (when nats_embedded)
  bool nats_embedded = true;     ///< start and supervise a local nats-server -js
  std::string nats_server_bin = "nats-server";
  std::uint16_t nats_embedded_port = 4222;
  std::string nats_prefix = "adclick";
  /// A file holding the token for a server started with --auth (its first line).
  std::string nats_token_file;
  /// Secret: from ADCLICK_NATS_TOKEN or nats_token_file only. Empty: no token.
  std::string nats_token;

  // [log]
  std::string log_level = "info";  ///< debug, info, warn or error

  // [http]
  std::string http_address = "127.0.0.1:8080";

  // [storage]
  std::string storage_dir = "./data";
  bool storage_sync = true;      ///< fsync each checkpoint (survives an OS crash, not only a process crash)

  // [partitions], [node]
  std::uint32_t partitions_count = 16;
  std::string node_partitions;   ///< "0-7,12"; empty means all

  // [windows], [dedup] (DESIGN 4.1, 4.2)
  caf::timespan windows_allowed_lateness = std::chrono::minutes(10);
  caf::timespan windows_max_out_of_orderness = std::chrono::seconds(5);
  caf::timespan windows_max_future_skew = std::chrono::minutes(5);
  caf::timespan windows_idle_advance = std::chrono::seconds(30);  ///< 0 = never (see nats_ingress.hpp)
  caf::timespan dedup_horizon = std::chrono::hours(1);
  caf::timespan retention_interval = std::chrono::minutes(1);
  caf::timespan retention_minute = std::chrono::hours(7 * 24);
  caf::timespan retention_hour = std::chrono::hours(90 * 24);
  caf::timespan retention_day = caf::timespan{0};

  // [actors]
  caf::timespan actors_idle_timeout = std::chrono::minutes(5);
  /// Ad actors kept at most on this node (over its partitions); 0: no limit. Off by
  /// default: a limit below the ads clicked within idle-timeout makes every click of a
  /// stopped ad spawn it again from the store (README, "Millions of ads").
  std::uint32_t actors_max_active = 0;

  // [checkpoint]
  caf::timespan checkpoint_interval = std::chrono::seconds(1);
  caf::timespan live_interval = std::chrono::milliseconds(250);  ///< 0 = no live updates of ads
  bool live_nats = false;                ///< publish CountUpdates of every changed ad on <prefix>.live.*
  std::uint32_t live_max_streams = 32;   ///< concurrent SSE streams
  caf::timespan live_heartbeat = std::chrono::seconds(15);
  caf::timespan live_replay = std::chrono::hours(1);  ///< how much a (re)connecting stream is sent first
  std::uint32_t checkpoint_max_pending = 4096;  ///< checkpoint sooner once this many messages wait for one
  /// readyz answers 503 once everything dispatched was last durable longer ago than this
  /// (checkpoints failing, or a write hung in fsync).
  caf::timespan checkpoint_max_age = std::chrono::seconds(30);
  /// After a stop signal: the final checkpoint (up to 20 s) and the shutdown that follows
  /// get this long; then adclickd exits at once with code 3. Nothing that was not durable
  /// was acked, so this is as safe as a kill, and the log says why. Stopping 1M active ad
  /// actors took about 50 s on 2 cores; below systemd's TimeoutStopSec (90 s in
  /// config/adclickd.service).
  caf::timespan checkpoint_stop_timeout = std::chrono::seconds(80);

  // [ingest]
  std::uint32_t ingest_fetch_batch = 256;       ///< messages per JetStream fetch
  std::uint32_t ingest_fetch_max_bytes = 1 << 20; ///< payload bytes per fetch
  std::uint32_t ingest_max_ack_pending = 20000; ///< consumer MaxAckPending (messages)
  std::uint32_t ingest_max_unacked_bytes = 32u << 20; ///< decoded clicks fetched and not yet acked, per partition
  caf::timespan ingest_ack_wait = std::chrono::seconds(60);  ///< consumer AckWait
  bool ingest_accept_new_stream = false;  ///< count a recreated clicks stream from its start

  // [testing]
  std::string testing_fault_file;  ///< faults to inject, one name per line (common/fault_switch.hpp)

  /// What adclickd was asked to do besides its options.
  enum class action { run, help, check_config, print_config };
  action requested = action::run;

  /// Reads argv, the INI file and the process environment, then checks every option.
  /// Returns a non-empty error text when the configuration cannot run.
  std::string load(int argc, char** argv);
  /// The same with `env` standing in for the process environment (tests).
  std::string load(int argc, char** argv, const std::map<std::string, std::string>& env);

  /// Every option's effective value and where it came from, as INI text; secrets are
  /// shown as <redacted>.
  std::string print() const;
  /// The options with their types, defaults, environment names and meaning (--help).
  std::string help() const;

  /// The environment variable of option `name` ("nats.url" -> "ADCLICK_NATS_URL").
  static std::string env_name(const std::string& name);

  /// The partitions this node owns, parsed from node_partitions.
  const std::vector<std::uint32_t>& owned_partitions() const { return owned_; }

  /// The event-time rules of every partition.
  window_rules rules() const;
  /// retention.minute, .hour and .day, in ms.
  count_retention count_retention_rules() const;

  /// "host", port from http_address.
  std::string http_host() const;
  int http_port() const;

 private:
  std::string validate();
  /// Parses `value` by the option's type and stores it; an error text on failure.
  std::string apply(const std::string& name, const std::string& value, const std::string& source);
  std::vector<std::uint32_t> owned_;
  std::map<std::string, std::string> sources_;  ///< option -> where its value came from
};

/// Parses "0-7,12" into a sorted list of partitions below `count`. Returns false (with
/// `error` set) on syntax errors or out-of-range numbers. Empty text means all partitions.
bool parse_partition_set(const std::string& text, std::uint32_t count,
                         std::vector<std::uint32_t>& out, std::string& error);

}  // namespace adclick
