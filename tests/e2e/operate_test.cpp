// The operator's side of adclickd: configuration from every source, admin verbs over each
// door, metrics, readiness with reasons, clean stops. Real binaries on a real nats-server.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "adclick/v1/admin.pb.h"
#include "gateway/admin.hpp"
#include "common/time.hpp"
#include "gateway/nats/nats_client.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tools/http_client.hpp"
#include "tools/truth.hpp"

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

namespace {

nlohmann::json http_admin(const service& svc, const std::string& verb, const std::string& query = {},
                          int expect = 200) {
  http_client client{svc.http()};
  const auto path = "/v1/admin/" + verb + (query.empty() ? "" : "?" + query);
  auto res = verb == "checkpoint" || verb == "passivate" ? client.post(path) : client.get(path);
  INFO(path << " -> " << res.status << " " << res.body);
  REQUIRE(res.status == expect);
  return nlohmann::json::parse(res.body);
}

v1::AdminResponse nats_admin(nats_connection& nc, const std::string& verb, std::uint64_t ad = 0, std::uint32_t k = 0) {
  v1::AdminRequest req;
  req.set_ad_id(ad);
  req.set_k(k);
  auto bytes = must(nc.request("adclick.admin." + verb, req.SerializeAsString(), 70'000));
  v1::AdminResponse r;
  REQUIRE(r.ParseFromString(bytes));
  return r;
}

/// `adclick admin ARGS...`; returns its exit code and puts stdout and stderr in `out`.
int cli_admin(std::vector<std::string> args, std::string& out) {
  args.insert(args.begin(), {adclick_bin(), "admin"});
  return run(args, out, 120s);
}

/// The one ad of `t` with the most counted clicks.
std::uint64_t busiest_ad(const truth& t) {
  std::map<std::uint64_t, std::uint64_t> per_ad;
  for (const auto& [key, b] : t.counts) per_ad[key.first] += b.count;
  return std::max_element(per_ad.begin(), per_ad.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
}

}  // namespace

TEST_CASE("every admin verb answers over HTTP, NATS and the CLI, and checkpoint and passivate do what they say",
          "[e2e][admin]") {
  // Checkpoints only when asked (or at shutdown), so that the checkpoint verb is what makes
  // the counts durable here.
  running r{{"--checkpoint.interval=1h", "--checkpoint.max-age=2h", "--checkpoint.max-pending=1000000"}};
  auto& svc = r.svc;
  temp_dir work;
  const auto truth_file = work.str("truth");
  load(r.nats, truth_file, {"--clicks", "3000", "--ads", "20", "--batch", "50", "--dup-rate", "0.05", "--seed", "3"});
  std::string out;
  // Every click handed to its ad (outcomes are decided at checkpoints, which wait here).
  for (int i = 0; i < 300 && http_admin(svc, "status")["arrived"] != 3000; ++i) std::this_thread::sleep_for(100ms);
  std::string error;
  const auto loaded = truth::load(truth_file, error);
  REQUIRE(loaded);
  const auto& t = *loaded;
  const auto ad = busiest_ad(t);
  auto nc = must(nats_connection::connect(r.nats.url(), "admin-test"));

  // status: over HTTP and NATS, with the outcome counters and nothing durable yet.
  auto st = http_admin(svc, "status");
  CHECK(st["ready"] == true);
  CHECK(st["arrived"] == 3000);
  CHECK(st["undecided"] == 3000);  // outcomes come with the checkpoint that decides them
  CHECK(st["nats"]["connected"] == true);
  REQUIRE(st["partitions"].size() == 16);
  std::uint64_t durable = 0, dispatched = 0;
  for (const auto& p : st["partitions"]) {
    durable += p["durable_seq"].get<std::uint64_t>();
    dispatched += p["dispatched_seq"].get<std::uint64_t>();
    CHECK(p.contains("lag_messages"));
    CHECK(p.contains("watermark_lag_ms"));
    CHECK(p.contains("mailbox"));
  }
  CHECK(durable == 0);
  CHECK(dispatched > 0);
  auto nst = nats_admin(*nc, "status");
  REQUIRE(nst.status() == 200);
  CHECK(nst.status_reply().arrived() == 3000);
  CHECK(nst.status_reply().partitions_size() == 16);
  CHECK(nst.status_reply().outcomes().counted() == st["outcomes"]["counted"].get<std::uint64_t>());

  // lag: nothing behind once everything is counted (not yet acked: the unacked count in).
  auto lag = http_admin(svc, "lag");
  CHECK(lag["partitions"].size() == 16);
  CHECK(nats_admin(*nc, "lag").lag().partitions_size() == 16);

  // hot: the busiest ad is among the hottest.
  auto hot = http_admin(svc, "hot", "k=20");
  REQUIRE(!hot["ads"].empty());
  CHECK(hot["ads"].size() <= 20);
  bool listed = false;
  for (const auto& a : hot["ads"]) listed = listed || a["ad_id"] == ad;
  CHECK(listed);
  auto nhot = nats_admin(*nc, "hot", 0, 3);
  REQUIRE(nhot.status() == 200);
  CHECK(nhot.hot().ads_size() == 3);
  CHECK(nhot.hot().ads(0).clicks_per_s() >= nhot.hot().ads(2).clicks_per_s());

  // inspect of a live ad: its minutes in memory, as the truth counts them.
  auto live = http_admin(svc, "inspect", "ad=" + std::to_string(ad));
  CHECK(live["active"] == true);
  CHECK(live["answered_from"] == "memory");
  std::uint64_t in_memory = 0, truth_count = 0;
  for (const auto& m : live["minutes"]) in_memory += m["count"].get<std::uint64_t>();
  for (const auto& [key, b] : t.counts)
    if (key.first == ad) truth_count += b.count;
  CHECK(in_memory == truth_count);
  CHECK(live["ids_in_memory"] == truth_count);
  CHECK(live["ids_on_disk"] == 0);  // not checkpointed yet
  auto ninspect = nats_admin(*nc, "inspect", ad);
  REQUIRE(ninspect.status() == 200);
  CHECK(ninspect.inspect().active());

  // checkpoint: over HTTP, answered when durable; then everything dispatched is durable.
  auto cp = http_admin(svc, "checkpoint");
  REQUIRE(cp["partitions"].size() == 16);
  st = http_admin(svc, "status");
  for (const auto& p : st["partitions"]) CHECK(p["durable_seq"] == p["dispatched_seq"]);
  CHECK(http_admin(svc, "inspect", "ad=" + std::to_string(ad))["ids_on_disk"] == truth_count);
  // Over NATS with nothing new: nothing written.
  auto ncp = nats_admin(*nc, "checkpoint");
  REQUIRE(ncp.status() == 200);
  for (const auto& p : ncp.checkpoint().partitions()) CHECK_FALSE(p.wrote());
  REQUIRE(verify(svc, {truth_file}, out) == 0);
  CHECK(http_admin(svc, "status")["outcomes"]["duplicate"].get<std::uint64_t>() > 0);

  // passivate over HTTP, then inspect of the passivated ad, from the store.
  auto pass = http_admin(svc, "passivate", "ad=" + std::to_string(ad));
  CHECK(pass["was_active"] == true);
  auto stored = http_admin(svc, "inspect", "ad=" + std::to_string(ad));
  CHECK(stored["active"] == false);
  CHECK(stored["passivated"] == true);
  CHECK(stored["answered_from"] == "store");
  CHECK(stored["ids_on_disk"] == truth_count);
  CHECK(http_admin(svc, "status")["passivated_ads"].get<std::uint64_t>() >= 1);
  auto npass = nats_admin(*nc, "passivate", ad);  // again, over NATS: nothing to do
  REQUIRE(npass.status() == 200);
  CHECK_FALSE(npass.passivate().was_active());
  auto nstored = nats_admin(*nc, "inspect", ad);
  CHECK(nstored.inspect().passivated());
  REQUIRE(verify(svc, {truth_file}, out) == 0);  // still exact, served from the store

  // Errors: the same status and code at both doors.
  http_admin(svc, "inspect", "ad=999999", 404);
  CHECK(nats_admin(*nc, "inspect", 999999).status() == 404);
  http_admin(svc, "inspect", "", 400);
  CHECK(nats_admin(*nc, "inspect").status() == 400);
  http_admin(svc, "reboot", "", 404);
  CHECK(nats_admin(*nc, "reboot").status() == 404);
  {
    http_client client{svc.http()};
    CHECK(client.get("/v1/admin/checkpoint").status == 405);  // a verb that changes state wants POST
    CHECK(client.post("/v1/admin/status").status == 405);
  }

  // The CLI: a table by default, the JSON with --json, over HTTP and over NATS.
  REQUIRE(cli_admin({"status", "--http", svc.http()}, out) == 0);
  CHECK(out.find("ready: yes") != std::string::npos);
  CHECK(out.find("LAG_MSGS") != std::string::npos);
  REQUIRE(cli_admin({"status", "--json", "--nats", r.nats.url()}, out) == 0);
  CHECK(nlohmann::json::parse(out.substr(out.find('{')))["arrived"] == 3000);
  REQUIRE(cli_admin({"inspect", std::to_string(ad), "--http", svc.http()}, out) == 0);
  CHECK(out.find("passivated, answered from the store") != std::string::npos);
  REQUIRE(cli_admin({"hot", "--k", "2", "--nats", r.nats.url()}, out) == 0);
  CHECK(out.find("CLICKS/S") != std::string::npos);
  REQUIRE(cli_admin({"lag", "--http", svc.http()}, out) == 0);
  CHECK(out.find("max: ") != std::string::npos);
  REQUIRE(cli_admin({"checkpoint", "--nats", r.nats.url()}, out) == 0);
  CHECK(out.find("durable") != std::string::npos);
  REQUIRE(cli_admin({"passivate", std::to_string(ad), "--http", svc.http()}, out) == 0);
  CHECK(out.find("nothing to do") != std::string::npos);
  CHECK(cli_admin({"inspect", "999999", "--http", svc.http()}, out) == 1);
  CHECK(out.find("has counted no click") != std::string::npos);

  // A click for the passivated ad brings it back; counts stay exact.
  const auto truth2 = work.str("truth2");
  load(r.nats, truth2, {"--clicks", "500", "--ads", "20", "--batch", "50", "--seed", "4"});
  for (int i = 0; i < 300 && http_admin(svc, "status")["arrived"] != 3500; ++i) std::this_thread::sleep_for(100ms);
  REQUIRE(cli_admin({"checkpoint", "--http", svc.http()}, out) == 0);
  REQUIRE(verify(svc, {truth_file, truth2}, out) == 0);
  CHECK(http_admin(svc, "inspect", "ad=" + std::to_string(ad))["active"] == true);
}

TEST_CASE("the admin verbs at the default settings: inspect live and passivated, checkpoint, passivate, exact after",
          "[e2e][admin]") {
  running r{service::options{{}, false, false}};  // every option at its default
  auto& svc = r.svc;
  temp_dir work;
  const auto truth_file = work.str("truth");
  const auto start = std::to_string(now_ms() - 60'000);
  load(r.nats, truth_file, {"--clicks", "2000", "--ads", "10", "--batch", "20", "--seed", "5", "--start-ms", start,
                            "--event-rate", "100"});
  std::string out;
  REQUIRE(verify(svc, {truth_file}, out, {"--allow-idle-final"}) == 0);
  auto nc = must(nats_connection::connect(r.nats.url(), "admin-test"));
  const std::uint64_t ad = 3;
  auto live = nats_admin(*nc, "inspect", ad);
  REQUIRE(live.status() == 200);
  CHECK(live.inspect().active());
  CHECK(live.inspect().counted() > 0);
  REQUIRE(cli_admin({"checkpoint", "--nats", r.nats.url()}, out) == 0);
  REQUIRE(cli_admin({"passivate", std::to_string(ad), "--http", svc.http()}, out) == 0);
  CHECK(out.find("passivated: its actor stopped") != std::string::npos);
  auto stored = http_admin(svc, "inspect", "ad=" + std::to_string(ad));
  CHECK(stored["passivated"] == true);
  CHECK(stored["ids_on_disk"].get<std::uint64_t>() == live.inspect().ids_in_memory());
  REQUIRE(verify(svc, {truth_file}, out, {"--allow-idle-final"}) == 0);
}

namespace {

/// The value of the sample `series` (name and labels exactly as exposed) in a scrape, or -1.
double sample(const std::string& scrape, const std::string& series) {
  std::istringstream in{scrape};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::string scrape(const service& svc) {
  http_client client{svc.http()};
  auto res = client.get("/metrics");
  REQUIRE(res.status == 200);
  return res.body;
}

/// Every adclick_* metric name an expression in `text` uses (histogram suffixes removed).
std::set<std::string> metric_names(const std::string& text) {
  std::set<std::string> out;
  std::regex name{"adclick_[a-z_]+"};
  for (std::sregex_iterator i{text.begin(), text.end(), name}, end; i != end; ++i) {
    auto n = i->str();
    auto ends_with = [](const std::string& s, const std::string& end) {
      return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
    };
    for (const std::string suffix : {"_bucket", "_count", "_sum"})  // a histogram's series
      if (ends_with(n, suffix) && ends_with(n.substr(0, n.size() - suffix.size()), "_seconds"))
        n.resize(n.size() - suffix.size());
    out.insert(n);
  }
  return out;
}

std::string read_source(const std::string& path) {
  std::ifstream in{std::string{ADCLICK_SOURCE_DIR} + "/" + path};
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("/metrics passes promtool, its counters move with clicks and queries, and the shipped dashboard and "
          "alerts use only metrics it exposes",
          "[e2e][metrics]") {
  running r{service::options{{}, false, false}};  // the defaults
  auto& svc = r.svc;
  temp_dir work;
  auto before = scrape(svc);
  CHECK(sample(before, "adclick_clicks_total{outcome=\"counted\",reason=\"\"}") == 0);
  CHECK(sample(before, "adclick_ready") == 1);
  CHECK(sample(before, "adclick_nats_connected") == 1);

  const auto truth_file = work.str("truth");
  const auto start = std::to_string(now_ms() - 60'000);
  load(r.nats, truth_file, {"--clicks", "3000", "--ads", "30", "--batch", "30", "--dup-rate", "0.1",
                            "--malformed-rate", "0.01", "--seed", "6", "--start-ms", start, "--event-rate", "100"});
  std::string out;
  REQUIRE(verify(svc, {truth_file}, out, {"--allow-idle-final"}) == 0);
  std::string error;
  auto t = truth::load(truth_file, error);
  REQUIRE(t);
  http_client client{svc.http()};
  REQUIRE(client.get("/v1/ads/1/clicks?from=" + start + "&to=" + std::to_string(now_ms())).status == 200);
  REQUIRE(client.get("/v1/top?from=" + start + "&to=" + std::to_string(now_ms())).status == 200);

  auto after = scrape(svc);
  const auto metrics_file = work.str("metrics.txt");
  {
    std::ofstream f{metrics_file};
    f << after;
  }
  INFO(after.substr(0, 4000));
  CHECK(run({"sh", "-c", "promtool check metrics < " + metrics_file}, out, 60s) == 0);
  CHECK(out.find("error") == std::string::npos);
  CHECK(sample(after, "adclick_clicks_total{outcome=\"counted\",reason=\"\"}") ==
        double(t->outcomes[outcome::counted]));
  CHECK(sample(after, "adclick_clicks_total{outcome=\"duplicate\",reason=\"\"}") ==
        double(t->outcomes[outcome::duplicate]));
  CHECK(sample(after, "adclick_clicks_total{outcome=\"rejected\",reason=\"malformed\"}") ==
        double(t->outcomes[outcome::rejected_malformed]));
  CHECK(sample(after, "adclick_clicks_total{outcome=\"rejected\",reason=\"malformed\"}") > 0);
  CHECK(sample(after, "adclick_query_duration_seconds_count{endpoint=\"ad\"}") >= 1);
  CHECK(sample(after, "adclick_query_duration_seconds_count{endpoint=\"top\"}") >= 1);
  CHECK(sample(after, "adclick_checkpoint_duration_seconds_count") > 0);
  CHECK(sample(after, "adclick_active_ads") == 30);
  // The dedup state of 30 active ads holds at least their minutes' filters; status says the
  // same, per partition and in total.
  CHECK(sample(after, "adclick_dedup_memory_bytes") > 0);
  CHECK(after.find("# TYPE adclick_dedup_ids_in_memory gauge") != std::string::npos);
  CHECK(after.find("# TYPE adclick_open_clicks gauge") != std::string::npos);
  CHECK(after.find("adclick_unacked_bytes{partition=\"0\"}") != std::string::npos);
  auto st = http_admin(svc, "status");
  INFO(st.dump());
  CHECK(st["dedup_bytes"].get<std::uint64_t>() > 0);
  std::uint64_t partition_bytes = 0;
  for (const auto& p : st["partitions"]) partition_bytes += p.value("dedup_bytes", std::uint64_t{0});
  CHECK(partition_bytes == st["dedup_bytes"].get<std::uint64_t>());
  CHECK(after.find("adclick_build_info{version=\"") != std::string::npos);
  CHECK(after.find("adclick_consumer_lag_messages{partition=\"15\"}") != std::string::npos);
  CHECK_FALSE(std::regex_search(after, std::regex{"[{,](ad|ad_id|campaign|advertiser)=\""}));  // no per-ad labels

  // The shipped dashboard and alerts name only metrics that exist, and promtool takes the rules.
  for (const auto* file : {"config/grafana-dashboard.json", "config/alerts.yml"}) {
    const auto text = read_source(file);
    if (std::string{file}.find(".json") != std::string::npos) REQUIRE_NOTHROW(nlohmann::json::parse(text));
    for (const auto& name : metric_names(text)) {
      INFO(file << " uses " << name);
      CHECK(after.find("# TYPE " + name + " ") != std::string::npos);
    }
  }
  CHECK(run({"promtool", "check", "rules", std::string{ADCLICK_SOURCE_DIR} + "/config/alerts.yml"}, out, 60s) == 0);
}

namespace {
/// Loads 1000 clicks over 20 ads from `start_ms` and waits until they are all counted,
/// then kills nats-server and waits until readyz answers 503 naming the NATS connection.
void count_then_lose_broker(running& r, const std::string& truth, std::int64_t start_ms, const char* seed) {
  load(r.nats, truth, {"--clicks", "1000", "--ads", "20", "--seed", seed, "--start-ms", std::to_string(start_ms),
                       "--event-rate", "100"});
  std::string out;
  REQUIRE(verify(r.svc, {truth}, out, {"--allow-idle-final"}) == 0);
  r.nats.kill();
  bool reported = false;
  for (int i = 0; i < 150 && !reported; ++i) {
    auto [code, body] = r.svc.readyz();
    reported = code == 503 && body.dump().find("NATS connection lost") != std::string::npos;
    if (!reported) std::this_thread::sleep_for(100ms);
  }
  REQUIRE(reported);
}
}  // namespace

TEST_CASE("while nats-server is down readyz answers 503 naming NATS and metrics show it, and after it is back 200, "
          "reconnects counted, nothing lost, and SIGTERM exits 0",
          "[e2e][readiness]") {
  running r{service::options{{}, false, false}};  // the defaults
  auto& svc = r.svc;
  temp_dir work;
  const auto before = work.str("before"), after = work.str("after");
  const auto start = now_ms() - 60'000;
  count_then_lose_broker(r, before, start, "7");
  std::string out;
  auto down = scrape(svc);
  // nats.c reports the disconnect on its callback thread, after the connection's status
  // (which readyz reads) has changed: the counter may lag it a moment.
  for (int i = 0; i < 50 && sample(down, "adclick_nats_disconnects_total") < 1; ++i) {
    std::this_thread::sleep_for(100ms);
    down = scrape(svc);
  }
  CHECK(sample(down, "adclick_nats_connected") == 0);
  CHECK(sample(down, "adclick_ready") == 0);
  CHECK(sample(down, "adclick_nats_disconnects_total") >= 1);
  CHECK(http_admin(svc, "status")["nats"]["connected"] == false);

  REQUIRE(r.nats.restart());
  REQUIRE(svc.wait_ready(std::chrono::seconds(60)));
  auto up = scrape(svc);
  // nats.c reports the reconnect on its callback thread a moment after the connection is up.
  for (int i = 0; i < 50 && sample(up, "adclick_nats_reconnects_total") < 1; ++i) {
    std::this_thread::sleep_for(100ms);
    up = scrape(svc);
  }
  CHECK(sample(up, "adclick_nats_connected") == 1);
  CHECK(sample(up, "adclick_nats_reconnects_total") >= 1);
  load(r.nats, after, {"--clicks", "1000", "--ads", "20", "--seed", "8", "--start-ms", std::to_string(start + 20'000),
                       "--event-rate", "100"});
  REQUIRE(verify(svc, {before, after}, out, {"--allow-idle-final"}) == 0);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("retention deletes the ids of minutes past dedup.horizon, status and metrics show it, and a replay of "
          "those clicks is rejected as too old",
          "[e2e][retention]") {
  running r{service::options{{"--windows.allowed-lateness=0s", "--dedup.horizon=2min", "--retention.interval=1s"},
                             false, false}};
  auto& svc = r.svc;
  temp_dir work;
  const auto old_truth = work.str("old"), new_truth = work.str("new"), replay_truth = work.str("replay");
  const auto now = now_ms();
  const std::vector<std::string> old_load{"--clicks", "2000", "--ads", "20", "--seed", "11", "--start-ms",
                                          std::to_string(now - 10 * 60'000), "--event-rate", "100"};
  load(r.nats, old_truth, old_load);
  load(r.nats, new_truth, {"--clicks", "2000", "--ads", "20", "--seed", "12", "--start-ms", std::to_string(now - 20'000),
                           "--event-rate", "100"});  // every ad, so every partition's watermark moves
  std::string out;
  REQUIRE(verify(svc, {old_truth, new_truth}, out, {"--allow-idle-final"}) == 0);
  // The watermark is about now: the first load's minutes (10 to 9 min ago) are past the
  // 2 min horizon. Retention runs every second. The floor is the lowest partition's, from
  // its stored watermark: a pass that ran before every partition checkpointed the second
  // load reports an older one (a slow machine, CI under ASan, saw 12 min), and the next
  // pass moves it.
  nlohmann::json st;
  for (int i = 0; i < 600; ++i) {
    st = http_admin(svc, "status");
    // (a pass reports its floor when it is done, compaction included; its steps count
    // purged keys as they go)
    if (st["storage"].value("purged_keys", std::uint64_t{0}) > 0 &&
        st["storage"].value("dedup_floor_ms", 0LL) > now - 10 * 60'000)
      break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(st.dump());
  CHECK(st["storage"]["purged_keys"].get<std::uint64_t>() > 0);
  CHECK(st["storage"]["dedup_floor_ms"].get<std::int64_t>() > now - 10 * 60'000);
  CHECK(st["storage"]["passes"].get<std::uint64_t>() > 0);
  CHECK(st["storage"].contains("total_bytes"));
  auto metrics = scrape(svc);
  CHECK(sample(metrics, "adclick_retention_purged_keys_total") > 0);
  CHECK(metrics.find("adclick_store_bytes{kind=\"ids\"}") != std::string::npos);

  // The same clicks again, their ids gone from the store: too old, never counted twice.
  http_client client{svc.http()};
  auto counts = [&] {
    std::vector<nlohmann::json> out;
    for (int ad = 1; ad <= 20; ++ad) {
      auto res = client.get("/v1/ads/" + std::to_string(ad) + "/clicks?from=" + std::to_string(now - 15 * 60'000) +
                            "&to=" + std::to_string(now + 60'000));
      REQUIRE(res.status == 200);
      out.push_back(nlohmann::json::parse(res.body)["series"]);
    }
    return out;
  };
  const auto counts_before = counts();
  const auto too_old_before = st["outcomes"].value("too_old", std::uint64_t{0});
  load(r.nats, replay_truth, old_load);
  for (int i = 0; i < 100; ++i) {
    st = http_admin(svc, "status");
    if (st["outcomes"].value("too_old", std::uint64_t{0}) >= too_old_before + 2000) break;
    std::this_thread::sleep_for(100ms);
  }
  INFO("after the replay: " << st.dump());
  CHECK(st["outcomes"].value("too_old", std::uint64_t{0}) == too_old_before + 2000);
  CHECK(st["outcomes"].value("counted", std::uint64_t{0}) == 4000);
  const auto counts_after = counts();
  for (std::size_t i = 0; i < counts_after.size(); ++i) {
    INFO("ad " << i + 1 << " before " << counts_before[i].dump() << " after " << counts_after[i].dump());
    CHECK(counts_after[i] == counts_before[i]);
  }  // (verify would also count the 2000 as too_old: the truth cannot know)
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("SIGTERM while nats-server is down stops promptly with exit 0, and a restart loses nothing",
          "[e2e][readiness]") {
  // systemd gives a stop 90 s (TimeoutStopSec) before SIGKILL, and a broker outage is when
  // operators restart things. Freeing each subscription used to wait a 2 s flush that could
  // not be answered: 16 partitions' pull subscriptions and the admin and query ones.
  running r{service::options{{}, false, false}};  // the defaults
  auto& svc = r.svc;
  temp_dir work;
  const auto truth_file = work.str("truth");
  count_then_lose_broker(r, truth_file, now_ms() - 60'000, "9");
  std::string out;
  const auto t = std::chrono::steady_clock::now();
  CHECK(svc.stop(SIGTERM) == 0);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t);
  INFO("stop took " << took.count() << " ms; end of the log:\n" << svc.log_text());
  CHECK(took < 10s);
  REQUIRE(r.nats.restart());
  svc.start();
  CHECK(verify(svc, {truth_file}, out, {"--allow-idle-final"}) == 0);
}

TEST_CASE("under systemd, adclickd says READY=1 once recovered, feeds the watchdog, and says STOPPING=1 on SIGTERM",
          "[e2e][packaging]") {
  nats_server nats;
  REQUIRE(nats.ready());
  temp_dir dir;
  const auto socket_path = dir.str("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval timeout{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::vector<std::string> got;
  auto receive_until = [&](const std::string& wanted, int times, std::chrono::seconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) got.emplace_back(buf, static_cast<std::size_t>(n));
      if (std::count_if(got.begin(), got.end(), [&](const std::string& m) { return m.find(wanted) != std::string::npos; }) >= times)
        return true;
    }
    return false;
  };
  {
    scoped_env notify{"NOTIFY_SOCKET", socket_path};
    scoped_env watchdog{"WATCHDOG_USEC", "1000000"};  // a ping at least every 0.5 s
    service svc{nats, dir};
    svc.start();
    CHECK(receive_until("READY=1", 1, 20s));
    CHECK(receive_until("WATCHDOG=1", 4, 10s));
    std::string all;
    for (const auto& m : got) all += m + "|";
    INFO(all);
    CHECK(all.find("STATUS=ready") != std::string::npos);
    CHECK(all.find("READY=1") < all.find("WATCHDOG=1"));
    CHECK(svc.stop(SIGTERM) == 0);
    CHECK(receive_until("STOPPING=1", 1, 5s));
  }
  ::close(fd);
}

TEST_CASE("config/adclickd.service is a unit systemd accepts", "[e2e][packaging]") {
  std::string out;
  if (run({"systemd-analyze", "--version"}, out, 30s) != 0) {
    WARN("systemd-analyze is not installed here: the unit file is not checked");
    return;
  }
  temp_dir dir;
  auto unit = read_source("config/adclickd.service");
  for (auto at = unit.find("/usr/local/bin/adclickd"); at != std::string::npos; at = unit.find("/usr/local/bin/adclickd"))
    unit.replace(at, std::string{"/usr/local/bin/adclickd"}.size(), adclickd_bin());  // it must exist
  const auto path = dir.str("adclickd.service");
  {
    std::ofstream f{path};
    f << unit;
  }
  CHECK(unit.find("Restart=on-failure") != std::string::npos);
  CHECK(unit.find("Type=notify") != std::string::npos);
  CHECK(unit.find("WatchdogSec=") != std::string::npos);
  REQUIRE(run({"systemd-analyze", "verify", path}, out, 60s) == 0);
  INFO(out);
  CHECK(out.find("adclickd.service") == std::string::npos);  // no warning about any line
}

TEST_CASE("the Dockerfile builds an image whose adclickd runs", "[e2e][packaging]") {
  std::string out;
  if (run({"docker", "info"}, out, 30s) != 0) {
    WARN("no docker daemon here: the Dockerfile is not built");
    return;
  }
  const auto tag = "adclick-test:" + std::to_string(::getpid());
  REQUIRE(run({"docker", "build", "-t", tag, ADCLICK_SOURCE_DIR}, out, 3600s) == 0);
  CHECK(run({"docker", "run", "--rm", tag, "--check-config"}, out, 120s) == 0);
  CHECK(out.find("valid") != std::string::npos);
  run({"docker", "image", "rm", "-f", tag}, out, 120s);
}

TEST_CASE("checkpoint requests stuck on a hung disk are capped, and health, status and metrics still answer",
          "[e2e][admin][faults]") {
  running r{service::options{{}, true, true}};
  auto& svc = r.svc;
  temp_dir work;
  const auto before = work.str("before"), during = work.str("during");
  load(r.nats, before, {"--clicks", "500", "--ads", "10", "--seed", "9"});
  std::string out;
  REQUIRE(verify(svc, {before}, out) == 0);
  svc.faults({"storage-hang"});
  load(r.nats, during, {"--clicks", "500", "--ads", "10", "--seed", "10"});
  std::this_thread::sleep_for(1s);  // a checkpoint write is now hung
  std::vector<int> codes(max_changing_admin + 1, 0);
  std::vector<std::thread> askers;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    askers.emplace_back([&, i] {
      http_client client{svc.http()};
      codes[i] = client.post("/v1/admin/checkpoint").status;
    });
    std::this_thread::sleep_for(300ms);
  }
  // The one beyond the cap is refused at once; the door threads stay free for the rest.
  http_client client{svc.http()};
  const auto t = std::chrono::steady_clock::now();
  CHECK(client.get("/livez").status == 200);
  CHECK(client.get("/v1/admin/status").status == 200);
  CHECK(client.get("/metrics").status == 200);
  CHECK(std::chrono::steady_clock::now() - t < 5s);
  std::this_thread::sleep_for(500ms);
  CHECK(std::count(codes.begin(), codes.end(), 503) == 1);
  svc.faults({});
  for (auto& a : askers) a.join();
  CHECK(std::count(codes.begin(), codes.end(), 200) == max_changing_admin);  // answered once durable
  REQUIRE(verify(svc, {before, during}, out) == 0);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("with two nodes on one NATS, an admin request about an ad is answered by the node that owns it",
          "[e2e][admin]") {
  nats_server nats;
  REQUIRE(nats.ready());
  temp_dir dir_a, dir_b, work;
  service a{nats, dir_a, {"--node.partitions=0-7"}};
  service b{nats, dir_b, {"--node.partitions=8-15"}};
  a.start();
  b.start();
  load(nats, work.str("truth"), {"--clicks", "2000", "--ads", "32", "--seed", "11"});
  auto nc = must(nats_connection::connect(nats.url(), "admin-test"));
  for (std::uint64_t ad : {3, 12, 19, 28}) {  // partitions 3, 12, 3, 12
    INFO("ad " << ad);
    auto r = nats_admin(*nc, "inspect", ad);
    for (int i = 0; i < 100 && r.status() == 404; ++i) {  // counted a moment after the load returns
      std::this_thread::sleep_for(100ms);
      r = nats_admin(*nc, "inspect", ad);
    }
    CHECK(r.status() == 200);
    CHECK(r.inspect().partition() == ad % 16);
  }
  // Over HTTP a node says it does not own the ad (no forwarding yet).
  http_client client{a.http()};
  CHECK(client.get("/v1/admin/inspect?ad=12").status == 400);
}
