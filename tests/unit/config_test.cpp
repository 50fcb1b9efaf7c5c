#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>

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
