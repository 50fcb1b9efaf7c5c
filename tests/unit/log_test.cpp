#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/log.hpp"

using namespace adclick;

namespace {
/// Runs `body` with stderr going to a temporary file; returns what was written.
template <class F>
std::string capture_stderr(F body) {
  char path[] = "/tmp/adclick-log-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  body();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  return text.str();
}
}  // namespace

TEST_CASE("log lines are JSON with time, level, component, event and fields, and log.level filters them", "[log]") {
  auto text = capture_stderr([] {
    REQUIRE(set_log_level("info"));
    log_debug("partition", "unseen").kv("x", 1);
    log_info("partition", "checkpoint_done").kv("partition", 3).kv("error", "disk \"full\"\n").kv("ok", true);
    REQUIRE(set_log_level("warn"));
    log_info("service", "unseen_either");
    log_warn("store", "slow_write").kv("ms", std::int64_t{-5});
    REQUIRE(set_log_level("info"));
  });
  std::istringstream lines{text};
  std::string line;
  std::vector<nlohmann::json> parsed;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0]["level"] == "info");
  CHECK(parsed[0]["component"] == "partition");
  CHECK(parsed[0]["event"] == "checkpoint_done");
  CHECK(parsed[0]["partition"] == 3);
  CHECK(parsed[0]["error"] == "disk \"full\"\n");
  CHECK(parsed[0]["ok"] == true);
  CHECK(parsed[0]["ts"].get<std::string>().size() >= 20);
  CHECK(parsed[1]["level"] == "warn");
  CHECK(parsed[1]["component"] == "store");
  CHECK(parsed[1]["ms"] == -5);
  CHECK_FALSE(set_log_level("chatty"));
}
