// The dashboard in headless Chromium (Debian's chromium driven by tests/browser/
// dashboard_test.mjs): adclickd and nats-server start, the page loads, clicks are
// published, and the test waits until the chart and the top table show the truth's
// numbers. The screenshot is saved in the test's output directory (dashboard.png).
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "common/subprocess.hpp"
#include "common/time.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tools/truth.hpp"

using namespace adclick;
using namespace adclick::test;
using namespace std::chrono_literals;

TEST_CASE("the dashboard shows the live counts and the top ads of a load, in headless Chromium", "[e2e][browser]") {
  running r{service::options{{}, false, false}};  // the defaults: event times on the wall clock
  auto& [nats, dir, svc] = r;
  const auto out_dir = std::filesystem::path{ADCLICK_TEST_OUTPUT} / "dashboard";
  std::filesystem::create_directories(out_dir);

  const auto from = bucket_start(now_ms(), hour_ms) - hour_ms;
  const auto to = from + 3 * hour_ms;
  const auto url = svc.http() + "/?ads=1,2,3&from=" + std::to_string(from) + "&to=" + std::to_string(to) +
                   "&granularity=minute&view=live";
  auto load_args = [](const std::string& seed, const std::string& clicks) {
    return std::vector<std::string>{"--clicks", clicks, "--ads", "20", "--batch", "50", "--zipf", "1.1",
                                    "--seed", seed, "--clock-skew-ms", "0", "--rate", "2000"};
  };
  // A first load, then the page, then a second load while the page is open: the chart and
  // the table must follow it live. The expectations (both loads' truth) are handed to the
  // harness in a file once the second load has written its truth.
  const auto truth1 = dir.str("truth1.json");
  REQUIRE(load(nats, truth1, load_args("7", "4000")) == 0);
  const auto expect = dir.str("expect.json");
  subprocess page{{"node", std::string{ADCLICK_SOURCE_DIR} + "/tests/browser/dashboard_test.mjs", "--url", url,
                   "--out", out_dir.string(), "--expect-file", expect, "--timeout-ms", "90000"},
                  dir.str("page.log")};
  REQUIRE(page.started());
  std::this_thread::sleep_for(4s);  // the page is up, showing the first load
  const auto truth2 = dir.str("truth2.json");
  REQUIRE(load(nats, truth2, load_args("8", "3000")) == 0);
  std::map<std::uint64_t, std::uint64_t> per_ad;
  for (const auto& path : {truth1, truth2}) {
    std::string error;
    auto t = truth::load(path, error);
    REQUIRE(t);
    for (const auto& [key, b] : t->counts) per_ad[key.first] += b.count;
  }
  const auto total = per_ad[1] + per_ad[2] + per_ad[3];
  std::uint64_t top_id = 0, top_count = 0;
  for (const auto& [id, n] : per_ad)
    if (n > top_count) {  // ties: the lower id, as the service ranks them
      top_id = id;
      top_count = n;
    }
  {
    std::ofstream f{expect + ".tmp"};
    f << "{\"total\":" << total << ",\"top_id\":" << top_id << ",\"top_count\":" << top_count << "}";
  }
  std::filesystem::rename(expect + ".tmp", expect);
  REQUIRE(page.wait(150s));
  std::ifstream log{dir.str("page.log")};
  std::string seen{std::istreambuf_iterator<char>{log}, {}};
  INFO(seen);
  CHECK(page.exit_code() == 0);
  CHECK(std::filesystem::exists(out_dir / "dashboard.png"));
  CHECK(svc.stop(SIGTERM) == 0);
}
