#include "config/adclick_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <caf/atom.hpp>
#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>

#include "config/ini_file.hpp"
#include "config/option_values.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

namespace {
/// Our option groups; keys under them in the INI file must be declared options.
const char* const our_groups[] = {"nats", "http", "storage", "partitions", "node",
                                  "windows", "dedup", "retention", "actors", "checkpoint", "ingest", "live", "log",
                                  "testing"};
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
    .add(nats_prefix, "prefix", "subject prefix (default adclick)")
    .add(nats_token_file, "token-file", "a file whose first line is the NATS auth token (or ADCLICK_NATS_TOKEN)");
  caf::config_option_adder{custom_options_, "log"}
    .add(log_level, "level", "lowest level logged: debug, info, warn or error");
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
  caf::config_option_adder{custom_options_, "retention"}
    .add(retention_interval, "interval",
         "how often the ids past dedup.horizon and the counts past retention.minute, .hour and .day are deleted")
    .add(retention_minute, "minute", "keep minute buckets this far behind the watermark; 0s = forever")
    .add(retention_hour, "hour", "keep hour buckets this far behind the watermark; 0s = forever")
    .add(retention_day, "day", "keep day buckets this far behind the watermark; 0s = forever");
  caf::config_option_adder{custom_options_, "actors"}
    .add(actors_idle_timeout, "idle-timeout", "stop an ad actor idle this long (its state is durable)")
    .add(actors_max_active, "max-active",
         "at most this many ad actors on this node (0: no limit); above it the longest idle durable ones stop early");
  caf::config_option_adder{custom_options_, "checkpoint"}
    .add(checkpoint_interval, "interval", "time between checkpoints")
    .add(checkpoint_max_pending, "max-pending", "checkpoint sooner when this many messages wait")
    .add(checkpoint_max_age, "max-age", "readyz answers 503 once the store lags what was dispatched by this much")
    .add(checkpoint_stop_timeout, "stop-timeout",
         "after a stop signal, exit (code 3) if the final checkpoint and shutdown take longer than this");
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
    .add(ingest_max_unacked_bytes, "max-unacked-bytes",
         "decoded clicks fetched and not yet acked, per partition: fetching waits above it")
    .add(ingest_ack_wait, "ack-wait", "consumer AckWait: an unacked delivery comes again after this")
    .add(ingest_accept_new_stream, "accept-new-stream",
         "count a recreated clicks stream from its first message (positions rebase; stored counts stay)");
  caf::config_option_adder{custom_options_, "testing"}
    .add(testing_fault_file, "fault-file", "for tests only: a file naming faults to inject, one per line");
}

namespace {

/// Secrets: never from a flag or the INI file, shown redacted.
bool is_secret(const std::string& name) { return name == "nats.token"; }

std::string str(caf::string_view s) { return std::string{s.data(), s.size()}; }

bool is_our_group(const std::string& group) {
  for (const char* g : our_groups)
    if (group == g) return true;
  return false;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

/// The option's current value as the INI file would write it.
std::string render_value(const caf::config_option& opt) {
  auto v = opt.get();
  if (!v) return "?";
  if (auto* b = caf::get_if<bool>(&*v)) return *b ? "true" : "false";
  if (auto* t = caf::get_if<caf::timespan>(&*v)) return format_duration(*t);
  if (auto* str = caf::get_if<std::string>(&*v)) return quoted(*str);
  return caf::to_string(*v);
}

}  // namespace

std::string adclick_config::env_name(const std::string& name) {
  std::string out = "ADCLICK_";
  for (char c : name) out.push_back(c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::string adclick_config::load(int argc, char** argv) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("ADCLICK_", 0) != 0) continue;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return load(argc, argv, env);
}

std::string adclick_config::apply(const std::string& name, const std::string& value, const std::string& source) {
  const auto* opt = custom_options_.qualified_name_lookup(name);
  const std::string type = str(opt->type_name());
  auto bad = [&](const char* expected) {
    return "invalid value '" + value + "' for " + name + " (" + source + "): expected " + expected;
  };
  if (type == "boolean") {
    auto b = parse_bool(value);
    if (!b) return bad("true or false (yes/no, on/off, 1/0)");
    opt->store(caf::config_value{*b});
  } else if (type == "timespan") {
    auto d = parse_duration(value);
    if (!d) return bad("a duration such as 250ms, 10s, 10min, 1h");
    opt->store(caf::config_value{caf::timespan{*d}});
  } else if (type == "string") {
    opt->store(caf::config_value{value});
  } else {  // unsigned integers; the byte counts among them take units
    auto n = parse_size(value);
    if (!n || !opt->parse(std::to_string(*n))) return bad(("an unsigned number (" + type + "; sizes take KiB, MiB)").c_str());
  }
  sources_[name] = source;
  return {};
}

std::string adclick_config::load(int argc, char** argv, const std::map<std::string, std::string>& env) {
  struct given {
    std::string name, value, source;
  };
  std::vector<given> flags, file, environment;
  std::string config_file = "adclick.ini";
  bool file_named = false;
  auto known = [&](const std::string& name) {
    const auto dot = name.find('.');
    return dot != std::string::npos && is_our_group(name.substr(0, dot)) &&
           custom_options_.qualified_name_lookup(name) != nullptr;
  };
  auto secret_refused = [](const std::string& name, const std::string& where) {
    return "invalid configuration: " + name + " is a secret and is not read from " + where +
           ": set " + env_name(name) + " or name a file in " + name + "-file";
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      requested = action::help;
      return {};
    }
    if (arg == "--check-config") {
      requested = action::check_config;
      continue;
    }
    if (arg == "--print-config") {
      requested = action::print_config;
      continue;
    }
    if (arg.rfind("--config-file=", 0) == 0) {
      config_file = arg.substr(14);
      file_named = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      return "invalid configuration: unexpected argument '" + arg + "' (options are --group.key=value)";
    const auto eq = arg.find('=');
    const auto name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (is_secret(name)) return secret_refused(name, "the command line");
    if (!known(name)) return "invalid configuration: unknown option --" + name;
    std::string value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);
    else if (custom_options_.qualified_name_lookup(name)->is_flag()) value = "true";
    else return "invalid configuration: --" + name + " needs a value (--" + name + "=VALUE)";
    flags.push_back({name, value, "flag --" + name});
  }

  std::ifstream in{config_file};
  if (!in && file_named) return "invalid configuration: cannot read " + config_file;
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    std::vector<ini_entry> entries;
    std::string error;
    if (!parse_ini(text.str(), entries, error)) return "invalid configuration: " + config_file + ", " + error;
    for (auto& e : entries) {
      const auto where = config_file + ":" + std::to_string(e.line);
      if (is_secret(e.name)) return secret_refused(e.name, "the config file (" + where + ")");
      if (!known(e.name)) return "invalid configuration: unknown option '" + e.name + "' (" + where + ")";
      file.push_back({e.name, std::move(e.value), "file " + where});
    }
  }

  // ADCLICK_<GROUP>_<KEY>. A variable naming one of our groups but no option is a typo.
  std::map<std::string, std::string> option_of_env;
  for (const auto& opt : custom_options_)
    if (is_our_group(str(opt.category()))) option_of_env[env_name(str(opt.full_name()))] = str(opt.full_name());
  for (const auto& [var, value] : env) {
    if (var == env_name("nats.token")) {
      nats_token = value;
      sources_["nats.token"] = "env " + var;
      continue;
    }
    auto o = option_of_env.find(var);
    if (o != option_of_env.end()) {
      environment.push_back({o->second, value, "env " + var});
      continue;
    }
    for (const char* g : our_groups)
      if (var.rfind(env_name(std::string{g} + "."), 0) == 0)
        return "invalid configuration: unknown environment variable " + var + " (no such option in [" + g + "])";
  }

  for (auto* layer : {&file, &flags, &environment})
    for (const auto& g : *layer)
      if (auto e = apply(g.name, g.value, g.source); !e.empty()) return "invalid configuration: " + e;

  if (!nats_token_file.empty() && sources_.count("nats.token") == 0) {
    std::ifstream tf{nats_token_file};
    if (!tf) return "invalid configuration: cannot read nats.token-file " + nats_token_file;
    std::getline(tf, nats_token);
    while (!nats_token.empty() && (nats_token.back() == '\r' || nats_token.back() == ' ')) nats_token.pop_back();
    sources_["nats.token"] = "file " + nats_token_file;
  }
  return validate();
}

std::string adclick_config::print() const {
  std::ostringstream out;
  out << "; adclickd --print-config: each option's effective value and where it came from\n";
  std::string group;
  auto line = [&](const std::string& key, const std::string& value, const std::string& name) {
    auto s = sources_.find(name);
    std::string text = key + " = " + value;
    if (text.size() < 40) text.resize(40, ' ');
    out << text << " ; " << (s == sources_.end() ? "default" : s->second) << "\n";
  };
  for (const auto& opt : custom_options_) {
    if (!is_our_group(str(opt.category()))) continue;
    if (str(opt.category()) != group) {
      group = str(opt.category());
      out << "\n[" << group << "]\n";
    }
    auto shown = render_value(opt);
    if (str(opt.full_name()) == "nats.url") shown = quoted(redact_url(nats_url));  // credentials in the URL
    line(str(opt.long_name()), shown, str(opt.full_name()));
    if (str(opt.full_name()) == "nats.token-file")
      line("token", nats_token.empty() ? "\"\"" : "<redacted>", "nats.token");
  }
  return out.str();
}

std::string adclick_config::help() const {
  std::ostringstream out;
  out << "usage: adclickd [--config-file=PATH] [--group.key=value ...] [--check-config | --print-config]\n\n"
         "Options come from defaults < the INI file (adclick.ini or --config-file) < flags <\n"
         "environment variables ADCLICK_<GROUP>_<KEY>. Every option, with its default:\n";
  for (const auto& opt : custom_options_) {
    if (!is_our_group(str(opt.category()))) continue;
    out << "  --" << str(opt.full_name()) << "=" << render_value(opt) << "   (" << env_name(str(opt.full_name()))
        << ")\n      " << str(opt.description()) << "\n";
    if (str(opt.full_name()) == "nats.token-file")
      out << "  nats.token   (ADCLICK_NATS_TOKEN only: a secret is never a flag)\n      the NATS auth token\n";
  }
  out << "  --check-config   validate the configuration and exit (0: valid)\n"
         "  --print-config   print every effective value and its source, secrets redacted, and exit\n";
  return out.str();
}

std::string adclick_config::validate() {
  std::ostringstream problems;
  if (log_level != "debug" && log_level != "info" && log_level != "warn" && log_level != "error")
    problems << "log.level must be debug, info, warn or error; ";
  if (!nats_token.empty() && nats_url.empty())
    problems << "nats.token needs nats.url (the embedded nats-server runs without auth, on loopback); ";
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
  if (retention_interval < std::chrono::seconds(1)) problems << "retention.interval must be at least 1s; ";
  {
    // A bucket deleted must be one no click can change any more: past the dedup horizon
    // (its clicks are too old). And a coarser bucket is kept at least as long as a finer one.
    const std::pair<const char*, caf::timespan> kept[] = {
      {"retention.minute", retention_minute}, {"retention.hour", retention_hour}, {"retention.day", retention_day}};
    auto forever = [](caf::timespan t) { return t == caf::timespan{0}; };
    for (const auto& [name, t] : kept)
      if (!forever(t) && t < dedup_horizon)
        problems << name << " must be at least dedup.horizon (a bucket is deleted only once no click can change it), or 0s "
                             "(forever); ";
    for (int i = 0; i < 2; ++i)
      if (!forever(kept[i + 1].second) && (forever(kept[i].second) || kept[i + 1].second < kept[i].second))
        problems << kept[i + 1].first << " must be at least " << kept[i].first << " (or 0s: forever); ";
  }
  if (checkpoint_interval <= caf::timespan{0})
    problems << "checkpoint.interval must be positive; ";
  if (checkpoint_max_age <= checkpoint_interval)
    problems << "checkpoint.max-age must be longer than checkpoint.interval; ";
  if (checkpoint_stop_timeout < std::chrono::seconds(20))
    problems << "checkpoint.stop-timeout must be at least 20s (the final checkpoint alone may take 20 s); ";
  if (ingest_ack_wait < std::chrono::seconds(1)) problems << "ingest.ack-wait must be at least 1s; ";
  if (ingest_fetch_batch == 0 || ingest_fetch_batch >= ingest_max_ack_pending)
    problems << "ingest.fetch-batch must be positive and below ingest.max-ack-pending; ";
  if (ingest_max_unacked_bytes < (64u << 10)) problems << "ingest.max-unacked-bytes must be at least 64 KiB; ";
  if (ingest_fetch_max_bytes < (1u << 20))
    problems << "ingest.fetch-max-bytes must be at least 1 MiB (the largest NATS message); ";
  if (http_port() <= 0) problems << "http.address must be HOST:PORT; ";
  if (live_interval < caf::timespan{0}) problems << "live.interval must not be negative (0s: no live updates); ";
  if (live_heartbeat < std::chrono::seconds(1))
    problems << "live.heartbeat must be at least 1s (each quiet stream wakes this often); ";
  if (live_replay < caf::timespan{0}) problems << "live.replay must not be negative; ";
  if (retention_minute != caf::timespan{0} && live_replay > retention_minute)
    problems << "live.replay must be at most retention.minute (a stream's replay reads minutes, and those past "
                "retention are gone); ";
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

count_retention adclick_config::count_retention_rules() const {
  auto ms = [](caf::timespan t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t).count(); };
  count_retention r;
  r.minute_ms = ms(retention_minute);
  r.hour_ms = ms(retention_hour);
  r.day_ms = ms(retention_day);
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
