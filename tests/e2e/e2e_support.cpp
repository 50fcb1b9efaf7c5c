#include "tests/e2e/e2e_support.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "tools/http_client.hpp"

namespace adclick::test {

using namespace std::chrono_literals;

service::service(const nats_server& nats, const temp_dir& dir, options opts)
  : nats_url_(nats.url()), dir_(dir), port_(free_loopback_port()), opts_(std::move(opts)) {}

void service::launch() {
  std::vector<std::string> argv{adclickd_bin(), "--nats.url=" + nats_url_, "--storage.dir=" + data_dir(),
                                "--http.address=127.0.0.1:" + std::to_string(port_)};
  if (opts_.pinned) {
    argv.push_back("--checkpoint.interval=200ms");
    // Event times here are fixed in the past: the wall clock must not move them.
    argv.push_back("--windows.idle-advance=0s");
  }
  if (opts_.fault_file) argv.push_back("--testing.fault-file=" + dir_.str("faults"));
  argv.insert(argv.end(), opts_.extra.begin(), opts_.extra.end());
  proc_ = subprocess{argv, log_path()};
  REQUIRE(proc_.started());
}

bool service::wait_ready(std::chrono::seconds timeout) {
  http_client client{http()};
  for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
    if (client.get("/readyz").status == 200) return true;
    if (!proc_.running()) return false;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

void service::start() {
  launch();
  if (!wait_ready()) FAIL("adclickd did not become ready; see " << log_path() << "\n" << log_text());
}

std::string service::log_text() const {
  std::ifstream in{log_path()};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  return text.substr(text.size() > 6000 ? text.size() - 6000 : 0);
}

int service::stop(int sig) {
  proc_.signal(sig);
  REQUIRE(proc_.wait(60s));
  const int code = proc_.exit_code();
  if (sig == SIGTERM && code != 0) UNSCOPED_INFO("adclickd exited " << code << "; end of its log:\n" << log_text());
  return code;
}

void service::faults(const std::vector<std::string>& names) {
  REQUIRE(opts_.fault_file);
  std::ofstream out{dir_.str("faults.tmp")};
  for (const auto& n : names) out << n << "\n";
  out.close();
  std::filesystem::rename(dir_.str("faults.tmp"), dir_.str("faults"));
}

nlohmann::json service::status() {
  http_client client{http()};
  auto res = client.get("/v1/admin/status");
  if (res.status != 200)
    FAIL("status answered " << res.status << " " << res.error << res.body << "; adclickd "
                            << (proc_.running() ? "running" : "not running") << "; end of its log:\n" << log_text());
  return nlohmann::json::parse(res.body);
}

std::pair<int, nlohmann::json> service::readyz() {
  http_client client{http()};
  auto res = client.get("/readyz");
  return {res.status, res.status == 0 ? nlohmann::json{} : nlohmann::json::parse(res.body)};
}

int load(const nats_server& nats, const std::string& truth, std::vector<std::string> extra) {
  std::vector<std::string> argv{adclick_bin(), "load", "--nats", nats.url(), "--truth", truth, "--quiet"};
  bool has_start = false;
  for (const auto& a : extra) has_start = has_start || a == "--start-ms" || a == "--clock-skew-ms";
  if (!has_start) {
    argv.push_back("--start-ms");
    argv.push_back(std::to_string(t0));
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::string out;
  int rc = run(argv, out, 600s);
  INFO(out);
  CHECK(rc == 0);
  return rc;
}

int verify(const service& svc, const std::vector<std::string>& truths, std::string& out,
           std::vector<std::string> extra) {
  std::vector<std::string> argv{adclick_bin(), "verify", "--http", svc.http(), "--wait", "30"};
  for (const auto& t : truths) {
    argv.push_back("--truth");
    argv.push_back(t);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto rc = run(argv, out, 300s);
  if (rc != 0) UNSCOPED_INFO("adclick verify exited " << rc << ":\n" << out);  // (with the failing check)
  return rc;
}

int reconcile(const nats_server& nats, const service& svc, std::string& out) {
  const auto rc =
    run({adclick_bin(), "reconcile", "--nats", nats.url(), "--http", svc.http(), "--wait", "60"}, out, 600s);
  if (rc != 0) UNSCOPED_INFO("adclick reconcile exited " << rc << ":\n" << out);
  return rc;
}

std::vector<std::string> fault_mix(const std::string& clicks, const std::string& ads, const std::string& seed,
                                   const std::string& future_rate, const std::string& malformed_rate) {
  return {"--clicks", clicks, "--ads", ads, "--batch", "200", "--zipf", "1.1", "--dup-rate", "0.1", "--ooo-rate",
          "0.2", "--late-rate", "0.01", "--future-rate", future_rate, "--malformed-rate", malformed_rate, "--seed", seed,
          "--event-rate", "1000", "--lateness-ms", "60000"};
}

void crash_repeatedly(service& svc, subprocess& loader, int min_kills, int max_kills) {
  const auto seed = std::random_device{}();
  INFO("kill schedule seed " << seed);
  std::mt19937 rng{seed};
  int kills = 0;
  while ((kills < min_kills || loader.running()) && kills < max_kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 800));
    svc.stop(SIGKILL);
    ++kills;
    svc.start();
  }
  REQUIRE(loader.wait(120s));
  REQUIRE(loader.exit_code() == 0);
  CHECK(kills >= min_kills);
}

std::size_t check_finals(const final_counts& last, const truth& t, bool idle_final) {
  std::size_t billable = 0;
  for (const auto& [key, b] : t.counts) {
    INFO("ad " << key.first << " minute " << key.second);
    auto f = last.find(key);
    if (b.state() == bucket_state::open) {
      if (f == last.end()) continue;
      CHECK(idle_final);
      CHECK(f->second.count() == b.count);
      CHECK(f->second.version() == 1);
      continue;
    }
    ++billable;
    REQUIRE(f != last.end());
    CHECK(f->second.count() == b.count);
    CHECK(f->second.version() == b.version());
    CHECK(f->second.amended() == (b.state() == bucket_state::amended));
  }
  for (const auto& [key, f] : last) CHECK(t.counts.count(key) == 1);  // nothing the truth does not have
  return billable;
}

int fault_scale() {
  const char* s = std::getenv("ADCLICK_FAULT_SCALE");
  return s != nullptr && std::atoi(s) > 1 ? std::atoi(s) : 1;
}

}  // namespace adclick::test
