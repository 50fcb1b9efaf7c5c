// The operator's side of adclickd: configuration from every source, admin verbs over each
// door, metrics, readiness with reasons, clean stops. Real binaries on a real nats-server.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <string>

#include "tests/e2e/e2e_support.hpp"

using namespace adclick;
using namespace adclick::test;
using namespace std::chrono_literals;

namespace {

/// Sets an environment variable for adclickd children while it lives.
struct scoped_env {
  std::string name;
  scoped_env(std::string n, const std::string& value) : name(std::move(n)) { setenv(name.c_str(), value.c_str(), 1); }
  ~scoped_env() { unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("adclickd --print-config names each value's source and redacts secrets, and --check-config refuses "
          "an unknown key by name",
          "[e2e][config]") {
  scoped_env interval{"ADCLICK_CHECKPOINT_INTERVAL", "2s"};
  scoped_env token{"ADCLICK_NATS_TOKEN", "hunter2"};
  std::string out;
  REQUIRE(run({adclickd_bin(), "--print-config", "--nats.url=nats://127.0.0.1:4222", "--checkpoint.interval=5s",
               "--ingest.fetch-max-bytes=2MiB", "--nats.embedded=false"},
              out, 30s) == 0);
  INFO(out);
  CHECK(out.find("interval = 2s") != std::string::npos);  // the environment beats the flag
  CHECK(out.find("env ADCLICK_CHECKPOINT_INTERVAL") != std::string::npos);
  CHECK(out.find("fetch-max-bytes = 2097152") != std::string::npos);
  CHECK(out.find("flag --nats.embedded") != std::string::npos);
  CHECK(out.find("token = <redacted>") != std::string::npos);
  CHECK(out.find("hunter2") == std::string::npos);

  REQUIRE(run({adclickd_bin(), "--check-config", "--nats.url=nats://127.0.0.1:4222"}, out, 30s) == 0);
  CHECK(out.find("valid") != std::string::npos);
  CHECK(run({adclickd_bin(), "--check-config", "--checkpoint.intervall=1s"}, out, 30s) == 2);
  CHECK(out.find("checkpoint.intervall") != std::string::npos);
  CHECK(run({adclickd_bin(), "--check-config", "--nats.token=hunter2"}, out, 30s) == 2);
  CHECK(out.find("ADCLICK_NATS_TOKEN") != std::string::npos);
}

TEST_CASE("against a nats-server that wants a token, adclickd authenticates with the one from its environment",
          "[e2e][config]") {
  nats_server nats{"authorization { token: \"hunter2\" }"};
  REQUIRE(nats.ready());
  temp_dir dir;
  scoped_env token{"ADCLICK_NATS_TOKEN", "hunter2"};
  service svc{nats, dir};
  svc.start();  // ready: it connected, created the streams and bound its consumers
  CHECK(svc.status()["partitions"].size() == 16);
  CHECK(svc.log_text().find("hunter2") == std::string::npos);
}
