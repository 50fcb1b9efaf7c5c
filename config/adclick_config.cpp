#include "config/adclick_config.hpp"

#include <algorithm>
#include <sstream>

#include <caf/atom.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>

#include "messages/type_ids.hpp"

namespace adclick {

namespace {
/// Our option groups; keys under them in the INI file must be declared options.
const char* const our_groups[] = {"nats", "http", "storage", "partitions", "node",
                                  "windows", "dedup", "actors", "checkpoint", "ingest", "live", "testing"};
}  // namespace

adclick_config::adclick_config() {
  add_message_types<caf::id_block::adclick>();
  // Two workers and the sharing policy: on this 2-core class of machine the default
  // (4 workers, work stealing) was erratic with many actors (STACK-NOTES).
  set("scheduler.policy", caf::atom("sharing"));
  set("scheduler.max-threads", 2);
  set("logger.file-verbosity", caf::atom("quiet"));
  set("logger.console-verbosity", caf::atom("quiet"));

  caf::config_option_adder{custom_options_, "nats"}
    .add(nats_url, "url", "NATS server URL; empty with nats.embedded starts a local server")
    .add(nats_embedded, "embedded", "start and supervise a local nats-server -js when no URL is given")
    .add(nats_server_bin, "server-bin", "nats-server executable for the embedded server")
    .add(nats_embedded_port, "embedded-port", "loopback port of the embedded nats-server")
    .add(nats_prefix, "prefix", "subject prefix (default adclick)");
  caf::config_option_adder{custom_options_, "http"}
    .add(http_address, "address", "HOST:PORT of the HTTP API, SSE, metrics and dashboard");
  caf::config_option_adder{custom_options_, "storage"}
    .add(storage_dir, "dir", "data directory (LevelDB; locked by one process)")
    .add(storage_sync, "sync", "fsync every checkpoint");
  caf::config_option_adder{custom_options_, "partitions"}
    .add(partitions_count, "count", "number of partitions (fixed when the stream is created)");
  caf::config_option_adder{custom_options_, "node"}
    .add(node_partitions, "partitions", "partitions this node owns, e.g. 0-7 (default: all)");
  caf::config_option_adder{custom_options_, "windows"}
    .add(windows_allowed_lateness, "allowed-lateness", "a minute is final once the watermark passes its end plus this")
    .add(windows_max_out_of_orderness, "max-out-of-orderness", "watermark = newest event time minus this")
    .add(windows_max_future_skew, "max-future-skew", "clicks further ahead of the wall clock are rejected (future)")
    .add(windows_idle_advance, "idle-advance", "an idle partition's watermark follows wall clock minus this; 0s = never");
  caf::config_option_adder{custom_options_, "dedup"}
    .add(dedup_horizon, "horizon", "exact dedup this far behind the watermark; older clicks are rejected (too_old)");
  caf::config_option_adder{custom_options_, "actors"}
    .add(actors_idle_timeout, "idle-timeout", "stop an ad actor idle this long (its state is durable)");
  caf::config_option_adder{custom_options_, "checkpoint"}
    .add(checkpoint_interval, "interval", "time between checkpoints")
    .add(checkpoint_max_pending, "max-pending", "checkpoint sooner when this many messages wait")
    .add(checkpoint_max_age, "max-age", "readyz answers 503 once the store lags what was dispatched by this much");
  caf::config_option_adder{custom_options_, "live"}
    .add(live_interval, "interval", "at most one live update per changed ad this often; 0s = none")
    .add(live_nats, "nats", "publish live updates as CountUpdate on <prefix>.live.<ad> and .campaign./.advertiser.<id>")
    .add(live_max_streams, "max-streams", "concurrent Server-Sent Event streams (/v1/stream); more get 503")
    .add(live_heartbeat, "heartbeat", "a comment on a quiet stream this often, so proxies keep it open")
    .add(live_replay, "replay", "a (re)connecting stream first gets the counts of this much event time");
  caf::config_option_adder{custom_options_, "ingest"}
    .add(ingest_fetch_batch, "fetch-batch", "JetStream messages per fetch")
    .add(ingest_fetch_max_bytes, "fetch-max-bytes", "payload bytes per fetch (all partitions' fetches "
                                                    "together must stay below the server's 64 MiB per-connection limit)")
    .add(ingest_max_ack_pending, "max-ack-pending", "consumer MaxAckPending, in messages")
    .add(ingest_ack_wait, "ack-wait", "consumer AckWait: an unacked delivery comes again after this")
    .add(ingest_accept_new_stream, "accept-new-stream",
         "count a recreated clicks stream from its first message (positions rebase; stored counts stay)");
  caf::config_option_adder{custom_options_, "testing"}
    .add(testing_fault_file, "fault-file", "for tests only: a file naming faults to inject, one per line");
}

std::string adclick_config::load(int argc, char** argv) {
  // CAF 0.17 reads a boolean option on the command line only as a bare `--group.key` and
  // refuses `--group.key=false`; DESIGN 5 wants both. Take `=true|false` off the command
  // line here and apply it after the file has been read, so that the flag still wins.
  std::vector<char*> kept;
  std::vector<std::pair<const caf::config_option*, bool>> booleans;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const auto* opt = i > 0 && arg.rfind("--", 0) == 0 && eq != std::string::npos
                        ? custom_options_.qualified_name_lookup(arg.substr(2, eq - 2))
                        : nullptr;
    if (opt == nullptr || !opt->is_flag()) {
      kept.push_back(argv[i]);
      continue;
    }
    const auto value = arg.substr(eq + 1);
    if (value != "true" && value != "false")
      return "invalid configuration: " + arg.substr(0, eq) + " takes true or false, not '" + value + "'";
    booleans.emplace_back(opt, value == "true");
  }
  if (auto err = parse(static_cast<int>(kept.size()), kept.data(), "adclick.ini"))
    return "invalid configuration: " + render(err);
  if (cli_helptext_printed) return {};
  for (const auto& [opt, value] : booleans) {
    opt->store(caf::config_value{value});
    caf::put(content, opt->full_name(), value);
  }
  return validate();
}

std::string adclick_config::validate() {
  std::ostringstream problems;
  for (const char* group : our_groups) {
    auto i = content.find(group);
    if (i == content.end() || !caf::holds_alternative<caf::settings>(i->second)) continue;
    for (const auto& kvp : caf::get<caf::settings>(i->second)) {
      std::string name = std::string{group} + "." + kvp.first;
      if (custom_options_.qualified_name_lookup(name) == nullptr)
        problems << "unknown option '" << name << "'; ";
    }
  }
  if (partitions_count == 0 || partitions_count > 4096)
    problems << "partitions.count must be 1..4096; ";
  std::string error;
  if (!parse_partition_set(node_partitions, partitions_count, owned_, error))
    problems << "node.partitions: " << error << "; ";
  if (windows_allowed_lateness < caf::timespan{0} || windows_max_out_of_orderness < caf::timespan{0} ||
      windows_max_future_skew < caf::timespan{0} || windows_idle_advance < caf::timespan{0})
    problems << "windows.* durations must not be negative; ";
  if (dedup_horizon <= windows_allowed_lateness + std::chrono::minutes(1))
    problems << "dedup.horizon must be longer than windows.allowed-lateness plus a minute "
                "(a late click must still be deduplicated); ";
  if (checkpoint_interval <= caf::timespan{0})
    problems << "checkpoint.interval must be positive; ";
  if (checkpoint_max_age <= checkpoint_interval)
    problems << "checkpoint.max-age must be longer than checkpoint.interval; ";
  if (ingest_ack_wait < std::chrono::seconds(1)) problems << "ingest.ack-wait must be at least 1s; ";
  if (ingest_fetch_batch == 0 || ingest_fetch_batch >= ingest_max_ack_pending)
    problems << "ingest.fetch-batch must be positive and below ingest.max-ack-pending; ";
  if (ingest_fetch_max_bytes < (1u << 20))
    problems << "ingest.fetch-max-bytes must be at least 1 MiB (the largest NATS message); ";
  if (http_port() <= 0) problems << "http.address must be HOST:PORT; ";
  if (live_interval < caf::timespan{0}) problems << "live.interval must not be negative (0s: no live updates); ";
  if (live_heartbeat < std::chrono::seconds(1))
    problems << "live.heartbeat must be at least 1s (each quiet stream wakes this often); ";
  if (live_replay < caf::timespan{0}) problems << "live.replay must not be negative; ";
  if (live_max_streams > 4096) problems << "live.max-streams must be at most 4096 (each stream holds a thread); ";
  auto text = problems.str();
  if (!text.empty()) text.resize(text.size() - 2);
  return text;
}

window_rules adclick_config::rules() const {
  auto ms = [](caf::timespan t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t).count(); };
  window_rules r;
  r.allowed_lateness_ms = ms(windows_allowed_lateness);
  r.max_out_of_orderness_ms = ms(windows_max_out_of_orderness);
  r.max_future_skew_ms = ms(windows_max_future_skew);
  r.dedup_horizon_ms = ms(dedup_horizon);
  return r;
}

std::string adclick_config::http_host() const {
  auto colon = http_address.rfind(':');
  return colon == std::string::npos ? http_address : http_address.substr(0, colon);
}

int adclick_config::http_port() const {
  auto colon = http_address.rfind(':');
  if (colon == std::string::npos) return -1;
  try {
    int port = std::stoi(http_address.substr(colon + 1));
    return port > 0 && port < 65536 ? port : -1;
  } catch (...) {
    return -1;
  }
}

bool parse_partition_set(const std::string& text, std::uint32_t count,
                         std::vector<std::uint32_t>& out, std::string& error) {
  out.clear();
  if (text.empty() || text == "all") {
    for (std::uint32_t p = 0; p < count; ++p) out.push_back(p);
    return true;
  }
  std::istringstream in{text};
  std::string part;
  while (std::getline(in, part, ',')) {
    unsigned long lo = 0, hi = 0;
    try {
      auto dash = part.find('-');
      std::size_t used = 0;
      lo = std::stoul(part.substr(0, dash), &used);
      if (used != (dash == std::string::npos ? part.size() : dash)) throw 0;
      hi = lo;
      if (dash != std::string::npos) {
        hi = std::stoul(part.substr(dash + 1), &used);
        if (used != part.size() - dash - 1) throw 0;
      }
    } catch (...) {
      error = "cannot read '" + part + "' (expected N or N-M)";
      return false;
    }
    if (lo > hi || hi >= count) {
      error = "'" + part + "' is outside 0-" + std::to_string(count - 1);
      return false;
    }
    for (auto p = lo; p <= hi; ++p) out.push_back(static_cast<std::uint32_t>(p));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) {
    error = "no partitions";
    return false;
  }
  return true;
}

}  // namespace adclick
