// What the end-to-end tests share: adclickd as a child process on a real nats-server,
// the adclick CLI (load, verify, reconcile), and the fault mix. Every process started
// here stops with its fixture and dies with the test process.
#pragma once

#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adclick/v1/query.pb.h"
#include "common/subprocess.hpp"
#include "tools/truth.hpp"
#include "tests/support/test_support.hpp"

namespace adclick::test {

/// Event time of the loads that do not run on the wall clock: minute-aligned, in the past.
constexpr std::int64_t t0 = 1'764'300'000'000;

/// adclickd on its own data directory and HTTP port, logging to a file.
class service {
 public:
  struct options {
    std::vector<std::string> extra;  ///< more flags
    /// Pin windows.idle-advance=0s and checkpoint.interval=200ms, for loads whose event
    /// times are fixed in the past; false runs with the defaults.
    bool pinned = true;
    bool fault_file = false;  ///< run with testing.fault-file=<dir>/faults (see faults())
  };
  service(const nats_server& nats, const temp_dir& dir, options opts);
  service(const nats_server& nats, const temp_dir& dir, std::vector<std::string> extra = {})
    : service(nats, dir, options{std::move(extra), true, false}) {}

  std::string http() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log_path() const { return dir_.str("adclickd.log"); }
  std::string data_dir() const { return dir_.str("data"); }
  /// Talks to NATS through `url` from the next start on (a proxy).
  void use_nats(std::string url) { nats_url_ = std::move(url); }
  /// Runs with these extra flags (instead of options::extra) from the next start on.
  void use_flags(std::vector<std::string> extra) { opts_.extra = std::move(extra); }

  /// Starts and waits until /readyz answers 200.
  void start();
  /// Starts without waiting; then wait_ready() or wait for an exit.
  void launch();
  bool wait_ready(std::chrono::seconds timeout = std::chrono::seconds(30));
  /// Stops with `sig`; returns the exit code. A failed stop shows the end of the log.
  int stop(int sig);
  subprocess& process() { return proc_; }

  /// Lists the faults to inject (common/fault_switch.hpp); needs options::fault_file.
  void faults(const std::vector<std::string>& names);
  nlohmann::json status();
  /// /readyz: status code and body.
  std::pair<int, nlohmann::json> readyz();
  std::string log_text() const;

 private:
  std::string nats_url_;
  const temp_dir& dir_;
  int port_;
  options opts_;
  subprocess proc_;
};

/// `adclick load` against `nats` with a truth file; CHECKs its exit code.
int load(const nats_server& nats, const std::string& truth, std::vector<std::string> extra);
/// `adclick verify` of the live view (or `extra` says otherwise), waiting up to 30 s.
int verify(const service& svc, const std::vector<std::string>& truths, std::string& out,
           std::vector<std::string> extra = {});
/// `adclick reconcile`: replays the stream and compares with the billing view.
int reconcile(const nats_server& nats, const service& svc, std::string& out);

/// A nats-server, a data directory and an adclickd on them, started.
struct running {
  nats_server nats;
  temp_dir dir;
  service svc;
  explicit running(std::vector<std::string> extra = {}) : running(service::options{std::move(extra), true, false}) {}
  explicit running(service::options opts) : svc(nats, dir, std::move(opts)) {
    REQUIRE(nats.ready());
    svc.start();
  }
};

/// The fault mix of issue 3: 10% duplicates, 20% out of order, 1% late, 0.1% future,
/// 0.1% malformed, over ads with Zipf 1.1 skew, with a 1-minute allowed lateness so that
/// most buckets are final (billing) by the end of the run.
std::vector<std::string> fault_mix(const std::string& clicks, const std::string& ads, const std::string& seed,
                                   const std::string& future_rate = "0.001", const std::string& malformed_rate = "0.001");
/// The service flags that the fault mix's truth assumes.
inline const std::vector<std::string> fault_mix_service{"--windows.allowed-lateness=1min"};

/// kill -9 adclickd at random moments (at least `min_kills`, at most `max_kills`) while
/// `loader` runs, restarting it each time; then waits for the loader to finish.
void crash_repeatedly(service& svc, subprocess& loader, int min_kills = 5, int max_kills = 12);

/// The FinalCount each bucket ended with (the highest version seen).
using final_counts = std::map<std::pair<std::uint64_t, std::int64_t>, v1::FinalCount>;
/// Checks `last` against the truth: every bucket the truth bills has its FinalCount with
/// the truth's count, version and amended flag; a bucket the truth leaves open has none,
/// or (`idle_final`: the service's idle advance closed it) the truth's count as version 1.
/// Returns how many buckets the truth bills.
std::size_t check_finals(const final_counts& last, const truth& t, bool idle_final);

/// How hard the fault tests push: 1 in scripts/test.sh, more in scripts/faults.sh
/// (ADCLICK_FAULT_SCALE).
int fault_scale();

}  // namespace adclick::test
