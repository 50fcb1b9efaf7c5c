#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <set>
#include <sstream>

#include "config/adclick_config.hpp"

using namespace adclick;

TEST_CASE("partition sets parse ranges and lists", "[config]") {
  std::vector<std::uint32_t> out;
  std::string error;
  REQUIRE(parse_partition_set("", 4, out, error));
  CHECK(out == std::vector<std::uint32_t>{0, 1, 2, 3});
  REQUIRE(parse_partition_set("0-2,5,5,7", 8, out, error));
  CHECK(out == std::vector<std::uint32_t>{0, 1, 2, 5, 7});
  CHECK_FALSE(parse_partition_set("0-8", 8, out, error));
  CHECK(error.find("outside") != std::string::npos);
  CHECK_FALSE(parse_partition_set("3-1", 8, out, error));
  CHECK_FALSE(parse_partition_set("a", 8, out, error));
  CHECK_FALSE(parse_partition_set("1-", 8, out, error));
}

namespace {
/// Loads `args` as adclickd's command line into `cfg`; the problems, or empty.
std::string load(std::vector<std::string> args, adclick_config& cfg) {
  args.insert(args.begin(), "adclickd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cfg.load(static_cast<int>(argv.size()), argv.data());
}
std::string load(std::vector<std::string> args) {
  adclick_config cfg;
  return load(std::move(args), cfg);
}
}  // namespace

TEST_CASE("options are validated", "[config]") {
  CHECK(load({}) == "");
  CHECK(load({"--partitions.count=8", "--node.partitions=0-3"}) == "");
  CHECK(load({"--node.partitions=0-20"}).find("node.partitions") != std::string::npos);
  CHECK(load({"--partitions.count=0"}).find("partitions.count") != std::string::npos);
  CHECK(load({"--http.address=nonsense"}).find("http.address") != std::string::npos);
  CHECK(load({"--checkpoint.interval=250ms"}) == "");
  CHECK_FALSE(load({"--no-such.option=1"}).empty());
  CHECK(load({"--retention.interval=500ms"}).find("retention.interval") != std::string::npos);
  CHECK(load({"--retention.interval=10s"}) == "");
  CHECK(load({"--ingest.max-unacked-bytes=1KiB"}).find("ingest.max-unacked-bytes") != std::string::npos);
  CHECK(load({"--ingest.max-unacked-bytes=256KiB"}) == "");
  CHECK(load({"--checkpoint.stop-timeout=0s"}).find("checkpoint.stop-timeout") != std::string::npos);
  CHECK(load({"--checkpoint.stop-timeout=19s"}).find("checkpoint.stop-timeout must be at least 20s") !=
        std::string::npos);
  CHECK(load({"--checkpoint.stop-timeout=20s"}) == "");
  // Counts are kept at least as long as a click can change them, and coarser ones longer.
  CHECK(load({"--retention.minute=30min"}).find("retention.minute must be at least dedup.horizon") != std::string::npos);
  CHECK(load({"--retention.minute=1h", "--retention.hour=1h", "--retention.day=1h"}) == "");
  CHECK(load({"--retention.minute=2h", "--retention.hour=1h"}).find("retention.hour must be at least retention.minute") !=
        std::string::npos);
  CHECK(load({"--retention.minute=0s"}).find("retention.hour must be at least retention.minute") != std::string::npos);
  CHECK(load({"--retention.minute=0s", "--retention.hour=0s"}) == "");  // all forever
  CHECK(load({"--retention.day=48h"}).find("retention.day must be at least retention.hour") != std::string::npos);
  // A live stream's replay reads minutes: it must not reach past the minutes kept.
  CHECK(load({"--retention.minute=1h", "--retention.hour=1h", "--retention.day=1h", "--live.replay=2h"})
          .find("live.replay must be at most retention.minute") != std::string::npos);
  CHECK(load({"--retention.minute=1h", "--retention.hour=1h", "--retention.day=1h", "--live.replay=1h"}) == "");
  CHECK(load({"--retention.minute=0s", "--retention.hour=0s", "--live.replay=720h"}) == "");  // minutes kept forever
  adclick_config defaults;
  REQUIRE(load({}, defaults) == "");
  CHECK(defaults.retention_interval == std::chrono::minutes(1));
  CHECK(defaults.count_retention_rules().minute_ms == 7 * 86'400'000LL);
  CHECK(defaults.count_retention_rules().hour_ms == 90 * 86'400'000LL);
  CHECK(defaults.count_retention_rules().day_ms == 0);
  CHECK(defaults.ingest_max_unacked_bytes == 32u << 20);
  CHECK(defaults.actors_max_active == 0);  // no limit
  CHECK(defaults.checkpoint_stop_timeout == std::chrono::seconds(80));  // below systemd's TimeoutStopSec=90s
  CHECK(load({"--actors.max-active=250000"}) == "");
}

TEST_CASE("live options that would spin or never answer are refused", "[config]") {
  CHECK(load({"--live.interval=0s"}) == "");  // no live updates at all
  CHECK(load({"--live.interval=-1s"}).find("live.interval") != std::string::npos);
  CHECK(load({"--live.heartbeat=0s"}).find("live.heartbeat") != std::string::npos);
  CHECK(load({"--live.heartbeat=10ms"}).find("live.heartbeat") != std::string::npos);
  CHECK(load({"--live.heartbeat=1s"}) == "");
  CHECK(load({"--live.replay=-1min"}).find("live.replay") != std::string::npos);
  CHECK(load({"--live.max-streams=0"}) == "");  // SSE refused, 503 for every stream
  CHECK(load({"--live.max-streams=100000"}).find("live.max-streams") != std::string::npos);
}

TEST_CASE("a misspelled key in the INI file is an error, not silently ignored", "[config]") {
  char path[] = "/tmp/adclick-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string ini = "[checkpoint]\nintervall = 2s\n";
  REQUIRE(write(fd, ini.data(), ini.size()) == static_cast<ssize_t>(ini.size()));
  close(fd);
  auto problem = load({std::string{"--config-file="} + path});
  unlink(path);
  CHECK(problem.find("checkpoint.intervall") != std::string::npos);
}

TEST_CASE("INI values are read", "[config]") {
  char path[] = "/tmp/adclick-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string ini = "[checkpoint]\ninterval = 250ms\n[partitions]\ncount = 4\n";
  REQUIRE(write(fd, ini.data(), ini.size()) == static_cast<ssize_t>(ini.size()));
  close(fd);
  std::string arg = std::string{"--config-file="} + path;
  char prog[] = "adclickd";
  char* argv[] = {prog, arg.data()};
  adclick_config cfg;
  CHECK(cfg.load(2, argv) == "");
  unlink(path);
  CHECK(cfg.checkpoint_interval == std::chrono::milliseconds(250));
  CHECK(cfg.partitions_count == 4);
  CHECK(cfg.owned_partitions().size() == 4);
}

TEST_CASE("boolean options accept --key, --key=true and --key=false, and flags beat the file", "[config]") {
  {
    adclick_config cfg;
    CHECK(load({"--nats.embedded=false", "--storage.sync=false"}, cfg) == "");
    CHECK_FALSE(cfg.nats_embedded);
    CHECK_FALSE(cfg.storage_sync);
  }
  {
    adclick_config cfg;
    CHECK(load({"--nats.embedded=true", "--storage.sync"}, cfg) == "");
    CHECK(cfg.nats_embedded);
    CHECK(cfg.storage_sync);
  }
  {
    adclick_config cfg;
    CHECK(load({"--storage.sync=maybe"}, cfg).find("storage.sync") != std::string::npos);
  }
  char path[] = "/tmp/adclick-config-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string ini = "[storage]\nsync = true\n[nats]\nembedded = false\n";
  REQUIRE(write(fd, ini.data(), ini.size()) == static_cast<ssize_t>(ini.size()));
  close(fd);
  {
    adclick_config cfg;
    CHECK(load({std::string{"--config-file="} + path, "--storage.sync=false"}, cfg) == "");
    CHECK_FALSE(cfg.storage_sync);   // the flag wins over the file
    CHECK_FALSE(cfg.nats_embedded);  // the file wins over the default
  }
  unlink(path);
}

// -- value forms, the INI reader, environment overrides, secrets, --print-config --------

#include <fstream>
#include <map>

#include "config/ini_file.hpp"
#include "config/option_values.hpp"

namespace {
std::string load_env(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                     adclick_config& cfg) {
  args.insert(args.begin(), "adclickd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cfg.load(static_cast<int>(argv.size()), argv.data(), env);
}

/// A temporary file holding `text`, removed when it goes.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    char p[] = "/tmp/adclick-config-XXXXXX";
    int fd = mkstemp(p);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    path = p;
  }
  ~temp_file() { unlink(path.c_str()); }
};

/// The line of `print` for key `key` of group `group`.
std::string printed_line(const std::string& print, const std::string& group, const std::string& key) {
  auto g = print.find("[" + group + "]");
  REQUIRE(g != std::string::npos);
  auto k = print.find("\n" + key + " = ", g);
  REQUIRE(k != std::string::npos);
  return print.substr(k + 1, print.find('\n', k + 1) - k - 1);
}
}  // namespace

TEST_CASE("durations, sizes and booleans take the forms people type", "[config]") {
  using namespace std::chrono;
  CHECK(parse_duration("250ms") == milliseconds(250));
  CHECK(parse_duration("10s") == seconds(10));
  CHECK(parse_duration("10min") == minutes(10));
  CHECK(parse_duration("10m") == minutes(10));
  CHECK(parse_duration("1h") == hours(1));
  CHECK(parse_duration("2d") == hours(48));
  CHECK(parse_duration("0") == nanoseconds(0));
  CHECK_FALSE(parse_duration("10"));
  CHECK_FALSE(parse_duration("-1s"));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK_FALSE(parse_duration("10 s"));
  CHECK_FALSE(parse_duration("99999999999999999999h"));
  CHECK(format_duration(minutes(10)) == "10min");
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(nanoseconds(0)) == "0s");
  CHECK(format_duration(hours(48)) == "2d");
  CHECK(parse_size("1MiB") == 1048576u);
  CHECK(parse_size("512KiB") == 524288u);
  CHECK(parse_size("1mb") == 1000000u);
  CHECK(parse_size("42") == 42u);
  CHECK(parse_size("8B") == 8u);
  CHECK_FALSE(parse_size("1.5MiB"));
  CHECK_FALSE(parse_size("1XB"));
  CHECK_FALSE(parse_size("99999999999GiB"));
  for (auto t : {"true", "YES", "on", "1"}) CHECK(parse_bool(t) == true);
  for (auto f : {"false", "No", "off", "0"}) CHECK(parse_bool(f) == false);
  CHECK_FALSE(parse_bool("maybe"));
}

TEST_CASE("the INI reader takes quotes, comments and groups, and names a bad line", "[config]") {
  std::vector<ini_entry> out;
  std::string error;
  REQUIRE(parse_ini("; top\n[nats]\nurl = \"nats://h:1\" ; why\n# c\n\n[checkpoint]\ninterval = 2s ; two\n"
                    "prefix = a\\\"b\n",
                    out, error));
  REQUIRE(out.size() == 3);
  CHECK(out[0].name == "nats.url");
  CHECK(out[0].value == "nats://h:1");
  CHECK(out[1].name == "checkpoint.interval");
  CHECK(out[1].value == "2s");
  CHECK(out[1].line == 7);
  CHECK_FALSE(parse_ini("[nats]\nurl\n", out, error));
  CHECK(error.find("line 2") != std::string::npos);
  CHECK_FALSE(parse_ini("url = x\n", out, error));
  CHECK_FALSE(parse_ini("[nats]\nurl = \"open\n", out, error));
  CHECK_FALSE(parse_ini("[nats\n", out, error));
}

TEST_CASE("environment variables beat flags, which beat the file, and print-config says which won", "[config]") {
  temp_file ini{"[checkpoint]\ninterval = 3s\nmax-age = 40s\n[ingest]\nfetch-batch = 100\n"};
  adclick_config cfg;
  REQUIRE(load_env({"--config-file=" + ini.path, "--checkpoint.interval=2s", "--ingest.fetch-batch=200"},
                   {{"ADCLICK_CHECKPOINT_INTERVAL", "1500ms"}, {"ADCLICK_INGEST_FETCH_MAX_BYTES", "2MiB"}}, cfg) == "");
  CHECK(cfg.checkpoint_interval == std::chrono::milliseconds(1500));  // env over flag over file
  CHECK(cfg.checkpoint_max_age == std::chrono::seconds(40));          // file over default
  CHECK(cfg.ingest_fetch_batch == 200);                               // flag over file
  CHECK(cfg.ingest_fetch_max_bytes == 2u << 20);
  const auto print = cfg.print();
  CHECK(printed_line(print, "checkpoint", "interval").find("1500ms") != std::string::npos);
  CHECK(printed_line(print, "checkpoint", "interval").find("env ADCLICK_CHECKPOINT_INTERVAL") != std::string::npos);
  CHECK(printed_line(print, "checkpoint", "max-age").find("file " + ini.path + ":3") != std::string::npos);
  CHECK(printed_line(print, "ingest", "fetch-batch").find("flag --ingest.fetch-batch") != std::string::npos);
  CHECK(printed_line(print, "storage", "dir").find("default") != std::string::npos);
  CHECK(adclick_config::env_name("windows.max-out-of-orderness") == "ADCLICK_WINDOWS_MAX_OUT_OF_ORDERNESS");
}

TEST_CASE("an unknown key is refused with its name, from every source", "[config]") {
  adclick_config a, b, c;
  CHECK(load_env({"--checkpoint.intervall=2s"}, {}, a).find("checkpoint.intervall") != std::string::npos);
  CHECK(load_env({}, {{"ADCLICK_CHECKPOINT_INTERVALL", "2s"}}, b).find("ADCLICK_CHECKPOINT_INTERVALL") !=
        std::string::npos);
  // Variables outside our groups belong to someone else (scripts' ADCLICK_TEST_QUICK).
  CHECK(load_env({}, {{"ADCLICK_TEST_QUICK", "1"}}, c) == "");
  adclick_config d, e;
  CHECK(load_env({"stray"}, {}, d).find("stray") != std::string::npos);
  CHECK(load_env({"--checkpoint.interval"}, {}, e).find("needs a value") != std::string::npos);
}

TEST_CASE("a bad value names the option, its source and the forms it takes", "[config]") {
  adclick_config a, b, c;
  auto e = load_env({}, {{"ADCLICK_CHECKPOINT_INTERVAL", "soon"}}, a);
  CHECK(e.find("checkpoint.interval") != std::string::npos);
  CHECK(e.find("env ADCLICK_CHECKPOINT_INTERVAL") != std::string::npos);
  CHECK(e.find("250ms") != std::string::npos);
  CHECK(load_env({"--nats.embedded-port=70000"}, {}, b).find("nats.embedded-port") != std::string::npos);
  CHECK(load_env({"--log.level=chatty"}, {}, c).find("log.level") != std::string::npos);
}

TEST_CASE("secrets come from the environment or a file, never a flag or the INI file, and print redacted",
          "[config]") {
  {
    adclick_config cfg;
    auto e = load_env({"--nats.token=hunter2"}, {}, cfg);
    CHECK(e.find("secret") != std::string::npos);
    CHECK(e.find("ADCLICK_NATS_TOKEN") != std::string::npos);
    CHECK(e.find("hunter2") == std::string::npos);
  }
  {
    temp_file ini{"[nats]\ntoken = hunter2\n"};
    adclick_config cfg;
    CHECK(load_env({"--config-file=" + ini.path}, {}, cfg).find("secret") != std::string::npos);
  }
  {
    adclick_config cfg;
    REQUIRE(load_env({"--nats.url=nats://127.0.0.1:4222"}, {{"ADCLICK_NATS_TOKEN", "hunter2"}}, cfg) == "");
    CHECK(cfg.nats_token == "hunter2");
    const auto print = cfg.print();
    CHECK(print.find("hunter2") == std::string::npos);
    CHECK(printed_line(print, "nats", "token").find("<redacted>") != std::string::npos);
    CHECK(printed_line(print, "nats", "token").find("env ADCLICK_NATS_TOKEN") != std::string::npos);
  }
  {
    temp_file secret{"from-file\n"};
    adclick_config cfg;
    REQUIRE(load_env({"--nats.url=nats://127.0.0.1:4222", "--nats.token-file=" + secret.path}, {}, cfg) == "");
    CHECK(cfg.nats_token == "from-file");
    CHECK(cfg.print().find("from-file") == std::string::npos);
  }
  {
    adclick_config cfg;
    CHECK(load_env({"--nats.url=nats://127.0.0.1:4222", "--nats.token-file=/nonexistent/token"}, {}, cfg)
            .find("nats.token-file") != std::string::npos);
  }
}

TEST_CASE("config/adclick.example.ini lists every option with its default", "[config]") {
  std::ifstream in{std::string{ADCLICK_SOURCE_DIR} + "/config/adclick.example.ini"};
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<ini_entry> entries;
  std::string error;
  REQUIRE(parse_ini(text.str(), entries, error));
  std::set<std::string> listed;
  for (const auto& e : entries) listed.insert(e.name);
  // Every option printed by --print-config is in the example, and loading the example
  // changes nothing: its values are the defaults.
  adclick_config defaults;
  REQUIRE(load_env({}, {}, defaults) == "");
  const auto print = defaults.print();
  std::istringstream lines{print};
  std::string line, group;
  int options = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == ';') continue;
    if (line[0] == '[') {
      group = line.substr(1, line.size() - 2);
      continue;
    }
    const auto key = line.substr(0, line.find(" = "));
    if (group + "." + key == "nats.token") continue;  // a secret: documented in a comment
    CHECK(listed.count(group + "." + key) == 1);
    ++options;
  }
  CHECK(options == static_cast<int>(listed.size()));
  temp_file copy{text.str()};
  adclick_config from_example;
  REQUIRE(load_env({"--config-file=" + copy.path}, {}, from_example) == "");
  auto values = [](const std::string& p) {  // the printed values without their sources
    std::string out;
    std::istringstream in{p};
    std::string l;
    while (std::getline(in, l)) out += l.substr(0, l.find(" ; ")) + "\n";
    return out;
  };
  CHECK(values(from_example.print()) == values(print));
}

TEST_CASE("credentials in nats.url are redacted in --print-config", "[config]") {
  CHECK(redact_url("nats://s3cret@h:4222") == "nats://<redacted>@h:4222");
  CHECK(redact_url("nats://user:pw@h:4222,nats://h2:4222") == "nats://<redacted>@h:4222,nats://h2:4222");
  CHECK(redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222");
  CHECK(redact_url("") == "");
  adclick_config cfg;
  REQUIRE(load_env({}, {{"ADCLICK_NATS_URL", "nats://user:s3cret@10.0.0.5:4222"}}, cfg) == "");
  CHECK(cfg.nats_url == "nats://user:s3cret@10.0.0.5:4222");  // used as given
  const auto print = cfg.print();
  CHECK(print.find("s3cret") == std::string::npos);
  CHECK(printed_line(print, "nats", "url").find("<redacted>@10.0.0.5") != std::string::npos);
}
