// End to end: a real nats-server on a free loopback port, the built adclickd, and the
// built adclick CLI publishing clicks and verifying every (ad, minute) count over HTTP.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/time.hpp"
#include "messages/subjects.hpp"
#include "messages/types.hpp"
#include "messages/click_codec.hpp"
#include "persistence/store.hpp"
#include "tools/http_client.hpp"
#include "gateway/nats/nats_client.hpp"
#include "adclick/v1/query.pb.h"
#include "tests/e2e/e2e_support.hpp"
#include "tools/truth.hpp"

using namespace adclick;
using namespace adclick::test;
using namespace std::chrono_literals;


namespace {
/// The two ways the e2e tests run adclickd: pinned (checkpoint.interval=200ms,
/// idle-advance=0s, event times fixed in the past: finality is deterministic) and at the
/// defaults (idle advance on, event times on the wall clock; a bucket the truth leaves open
/// may have been finalized by the idle advance).
struct mode {
  bool pinned;
  service::options options(std::vector<std::string> extra = {}) const { return {std::move(extra), pinned, false}; }
  /// `load` flags: the defaults run on the wall clock.
  std::vector<std::string> load(std::vector<std::string> args) const {
    if (!pinned) args.insert(args.end(), {"--clock-skew-ms", "0"});
    return args;
  }
  std::vector<std::string> verify(std::vector<std::string> flags = {}) const {
    if (!pinned) flags.push_back("--allow-idle-final");
    return flags;
  }
};
mode each_mode() {
  const bool pinned = GENERATE(true, false);
  return mode{pinned};
}
}  // namespace

TEST_CASE("counts are exact over HTTP, survive restarts and crashes, and catch up after downtime", "[e2e]") {
  const auto m = each_mode();
  INFO((m.pinned ? "pinned windows" : "default windows"));
  running r{m.options()};
  auto& [nats, dir, svc] = r;

  // Both batch shapes: one click per message, and many clicks per message.
  const auto single = dir.str("single.json"), batched = dir.str("batched.json"), offline = dir.str("offline.json");
  REQUIRE(load(nats, single, m.load({"--clicks", "2000", "--ads", "40", "--batch", "1", "--seed", "1"})) == 0);
  REQUIRE(load(nats, batched, m.load({"--clicks", "60000", "--ads", "500", "--batch", "250", "--zipf", "1.1", "--seed",
                                      "2", "--event-rate", "500"})) == 0);
  std::string out;
  CHECK(verify(svc, {single, batched}, out, m.verify()) == 0);
  INFO(out);
  CHECK(out.find("verify: OK") != std::string::npos);

  // A clean stop and start: the counts are the stored ones, unchanged.
  CHECK(svc.stop(SIGTERM) == 0);
  svc.start();
  CHECK(verify(svc, {single, batched}, out, m.verify()) == 0);

  // Clicks published while the service is down are counted when it returns.
  CHECK(svc.stop(SIGTERM) == 0);
  REQUIRE(load(nats, offline, m.load({"--clicks", "20000", "--ads", "300", "--batch", "100", "--seed", "3"})) == 0);
  svc.start();
  CHECK(verify(svc, {single, batched, offline}, out, m.verify()) == 0);
  INFO(out);

  // kill -9: whatever was not checkpointed is redelivered from the stored position, once.
  svc.stop(SIGKILL);
  svc.start();
  CHECK(verify(svc, {single, batched, offline}, out, m.verify()) == 0);
  CHECK(reconcile(nats, svc, out) == 0);
  INFO(out);

  // A wrong query is a JSON 400, not a crash.
  http_client client{svc.http()};
  auto bad = client.get("/v1/ads/abc/clicks?from=0&to=60000");
  CHECK(bad.status == 400);
  CHECK(nlohmann::json::parse(bad.body)["error"]["code"] == "bad_parameter");
  CHECK(client.get("/v1/ads/1/clicks?from=yesterday&to=60000").status == 400);
  CHECK(client.get("/v1/ads/1/clicks?from=60000&to=0").status == 400);
  CHECK(client.get("/v1/nothing").status == 404);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("a backlog is read within ingest.max-unacked-bytes per partition, and checkpoints come early to keep it moving",
          "[e2e][backpressure]") {
  // 256 KiB per partition; checkpoints only every 10 s by the clock, so the catch-up moves
  // by the early checkpoints at half the budget. 16 messages of 100 clicks per fetch: one
  // fetch adds at most 1600 decoded clicks past the budget.
  running r{service::options{{"--ingest.max-unacked-bytes=256KiB", "--ingest.fetch-batch=16",
                              "--checkpoint.interval=10s", "--checkpoint.max-age=120s"},
                             true, false}};
  auto& [nats, dir, svc] = r;
  CHECK(svc.stop(SIGTERM) == 0);
  const auto truth = dir.str("backlog.json");
  REQUIRE(load(nats, truth, {"--clicks", "400000", "--ads", "64", "--batch", "100", "--seed", "21"}) == 0);
  svc.launch();
  REQUIRE(svc.wait_ready(std::chrono::seconds(60)));
  std::uint64_t most = 0, checkpoints = 0;
  for (int i = 0; i < 1200; ++i) {  // up to 60 s
    auto st = svc.status();
    checkpoints = 0;
    for (const auto& p : st["partitions"]) {
      most = std::max(most, p.value("unacked_bytes", std::uint64_t{0}));
      checkpoints += p.value("checkpoints", std::uint64_t{0});
    }
    if (st["outcomes"].value("counted", std::uint64_t{0}) + st["outcomes"].value("duplicate", std::uint64_t{0}) ==
            400000 && st["undecided"] == 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO("most unacked bytes in a partition " << most << ", checkpoints " << checkpoints);
  CHECK(most > 0);
  CHECK(most <= 256 * 1024 + 1600 * (sizeof(adclick::click) + 64));
  CHECK(checkpoints > 16 * 3);  // the clock alone: one per partition
  std::string out;
  CHECK(verify(svc, {truth}, out) == 0);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("duplicates are counted once, within a run and when a whole run is replayed after a restart", "[e2e]") {
  const auto m = each_mode();
  INFO((m.pinned ? "pinned windows" : "default windows"));
  running r{m.options()};
  auto& [nats, dir, svc] = r;
  const auto first = dir.str("first.json"), replay = dir.str("replay.json");
  // The replay must repeat the same clicks: the same seed and the same start.
  const auto start = std::to_string(m.pinned ? t0 : now_ms());
  const std::vector<std::string> mix{"--clicks", "40000", "--ads", "300", "--batch", "100", "--dup-rate", "0.1",
                                     "--seed", "21", "--start-ms", start};
  REQUIRE(load(nats, first, mix) == 0);
  std::string out;
  CHECK(verify(svc, {first}, out, m.verify()) == 0);
  INFO(out);

  CHECK(svc.stop(SIGTERM) == 0);
  svc.start();
  auto replay_args = mix;
  replay_args.push_back("--replay");
  REQUIRE(load(nats, replay, replay_args) == 0);  // the same 40,000 publishes again
  CHECK(verify(svc, {first, replay}, out, m.verify()) == 0);
  INFO(out);
  CHECK(svc.stop(SIGTERM) == 0);
}

namespace {
int verify_view(const service& svc, const std::string& truth, const std::string& view, std::string& out,
                std::vector<std::string> flags = {}) {
  std::vector<std::string> argv{test::adclick_bin(), "verify", "--http", svc.http(), "--truth", truth, "--view", view,
                                "--wait",           "60",     "--digest"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const auto rc = test::run(argv, out);
  if (rc != 0) UNSCOPED_INFO("adclick verify exited " << rc << ":\n" << out);  // (with the failing check)
  return rc;
}

std::string digest_of(const std::string& verify_output) {
  auto at = verify_output.find("digest: ");
  return at == std::string::npos ? std::string{} : verify_output.substr(at + 8, 64);
}
}  // namespace

TEST_CASE("1M clicks over 10k ads with every fault: both views exact, and the same input gives the same billing",
          "[e2e][exactness]") {
  std::string digests[2];
  for (int run = 0; run < 2; ++run) {  // twice, from empty stores
    test::nats_server nats;
    REQUIRE(nats.ready());
    test::temp_dir dir;
    service svc{nats, dir, fault_mix_service};
    svc.start();
    const auto truth = dir.str("truth.json");
    REQUIRE(load(nats, truth, fault_mix("1000000", "10000", "42")) == 0);
    std::string out;
    CHECK(verify_view(svc, truth, "live", out) == 0);
    INFO(out);
    CHECK(verify_view(svc, truth, "billing", out) == 0);
    INFO(out);
    digests[run] = digest_of(out);
    CHECK(digests[run].size() == 64);
    if (run == 0) {
      CHECK(reconcile(nats, svc, out) == 0);
      INFO(out);
    }
    CHECK(svc.stop(SIGTERM) == 0);
  }
  CHECK(digests[0] == digests[1]);
}

TEST_CASE("200k clicks with every fault at the default windows: both views exact, reconcile clean",
          "[e2e][exactness]") {
  running r{service::options{fault_mix_service, false, false}};
  auto& [nats, dir, svc] = r;
  const auto truth = dir.str("truth.json");
  auto args = fault_mix("200000", "5000", "43");
  args.insert(args.end(), {"--clock-skew-ms", "0"});
  REQUIRE(load(nats, truth, args) == 0);
  std::string out;
  CHECK(verify_view(svc, truth, "live", out, {"--allow-idle-final"}) == 0);
  INFO(out);
  CHECK(verify_view(svc, truth, "billing", out, {"--allow-idle-final"}) == 0);
  INFO(out);
  CHECK(reconcile(nats, svc, out) == 0);
  INFO(out);
  CHECK(svc.stop(SIGTERM) == 0);
}

namespace {
/// kill -9 at random moments (min to max kills, scaled) during a paced load of the fault
/// mix with `extra` load flags; then both views against the truth, and the reconciler.
void kill9_during_fault_mix(const mode& m, const std::string& clicks, const std::string& ads, const std::string& seed,
                            const std::vector<std::string>& extra, int min_kills, int max_kills) {
  INFO((m.pinned ? "pinned windows" : "default windows"));
  running r{m.options(fault_mix_service)};
  auto& [nats, dir, svc] = r;
  const auto truth = dir.str("truth.json");
  auto argv = m.load(fault_mix(clicks, ads, seed));
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::vector<std::string> cmd{test::adclick_bin(), "load", "--nats", nats.url(), "--rate", "50000", "--truth", truth,
                               "--quiet"};
  if (m.pinned) cmd.insert(cmd.end(), {"--start-ms", std::to_string(t0)});
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  subprocess loader{cmd, dir.str("load.log")};
  crash_repeatedly(svc, loader, min_kills * fault_scale(), max_kills * fault_scale());
  std::string out;
  CHECK(verify_view(svc, truth, "live", out, m.verify()) == 0);
  INFO(out);
  CHECK(verify_view(svc, truth, "billing", out, m.verify()) == 0);
  INFO(out);
  CHECK(reconcile(nats, svc, out) == 0);
  INFO(out);
  CHECK(svc.stop(SIGTERM) == 0);
}
}  // namespace

TEST_CASE("kill -9 at random moments during a load with every fault: both views exact, reconcile clean",
          "[e2e][crash]") {
  kill9_during_fault_mix(each_mode(), "300000", "3000", "77", {}, 5, 12);
}

TEST_CASE("kill -9 at random moments with sequenced click ids and every fault: both views exact, reconcile clean",
          "[e2e][crash][sequenced]") {
  // Sequenced ids live in one runs row per (ad, minute), rewritten whole: a restart that
  // read a stale row, or none, would count the fault mix's repeats twice.
  kill9_during_fault_mix(each_mode(), "200000", "2000", "78", {"--id-layout", "sequenced", "--minters", "4"}, 3, 8);
}

TEST_CASE("reconcile reports a billed count that the stream does not give", "[e2e][reconcile]") {
  running r{fault_mix_service};
  auto& [nats, dir, svc] = r;
  const auto truth = dir.str("truth.json");
  REQUIRE(load(nats, truth, fault_mix("20000", "200", "211")) == 0);
  std::string out;
  REQUIRE(verify_view(svc, truth, "billing", out) == 0);
  REQUIRE(reconcile(nats, svc, out) == 0);
  CHECK(out.find("reconcile: OK") != std::string::npos);
  CHECK(svc.stop(SIGTERM) == 0);

  // Tamper with the store: one billed bucket gains a click the stream never had.
  std::uint64_t ad = 0;
  minute_count victim;
  {
    store::options o;
    o.rules.allowed_lateness_ms = 60'000;  // fault_mix_service
    auto db = must(store::open(svc.data_dir() + "/db", o));
    REQUIRE_FALSE(db->scan_all_minutes([&](std::uint64_t a, const minute_count& m) {
      if (ad == 0 && m.state != bucket_state::open) {
        ad = a;
        victim = m;
      }
    }));
    REQUIRE(ad != 0);
    victim.count += 1;
    store::batch b;
    b.put_bucket(partition_of(ad, 16), ad, victim);
    REQUIRE_FALSE(db->write(b));
  }
  svc.start();
  CHECK(reconcile(nats, svc, out) == 1);
  INFO(out);
  const auto kept = std::string{" "} + to_string(victim.state) + " v" + std::to_string(victim.version);
  CHECK(out.find("ad " + std::to_string(ad) + " minute " + format_time(victim.minute_ms) + ": expected " +
                 std::to_string(victim.count - 1) + kept + ", got " + std::to_string(victim.count) + kept) !=
        std::string::npos);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("rejected input reaches adclick.dlq with its reason, and final buckets reach adclick.final.AD", "[e2e]") {
  const auto m = each_mode();
  INFO((m.pinned ? "pinned windows" : "default windows"));
  running r{m.options(fault_mix_service)};
  auto& [nats, dir, svc] = r;
  auto nc = nats_connection::connect(nats.url(), "watcher");
  REQUIRE(nc);
  auto dlq = (*nc)->subscribe("adclick.dlq");
  auto finals = (*nc)->subscribe("adclick.final.>");
  REQUIRE(dlq);
  REQUIRE(finals);

  const auto truth_path = dir.str("truth.json");
  REQUIRE(load(nats, truth_path, m.load(fault_mix("20000", "200", "5", "0.01", "0.01"))) == 0);
  std::string out;
  REQUIRE(verify_view(svc, truth_path, "billing", out, m.verify()) == 0);
  std::string error;
  auto t = truth::load(truth_path, error);
  REQUIRE(t);

  // Every rejection, once, with its reason (no crash here, so exactly once).
  std::map<std::string, std::uint64_t> reasons;
  while (auto m = (*dlq)->next(500)) reasons[m->header("Adclick-Reason")] += 1;
  CHECK(reasons["future"] == t->outcomes[outcome::rejected_future]);
  CHECK(reasons["malformed"] == t->outcomes[outcome::rejected_malformed]);
  CHECK(t->outcomes[outcome::rejected_future] > 0);
  CHECK(t->outcomes[outcome::rejected_malformed] > 0);

  // The last FinalCount of every bucket is what billing must pay: the truth's.
  final_counts last;
  while (auto msg = (*finals)->next(500)) {
    v1::FinalCount f;
    REQUIRE(f.ParseFromString(msg->data));
    CHECK(msg->subject == "adclick.final." + std::to_string(f.ad_id()));
    last[{f.ad_id(), f.bucket_start_ms()}] = f;
  }
  // Nothing open was published as final, except, at the default windows, what the idle
  // advance closed after the load.
  CHECK(check_finals(last, *t, !m.pinned) > 0);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("ads that stop hand their memory back to the kernel, and status counts it", "[e2e][memory]") {
  // 20k clicks over 20k ads (about 12.6k distinct ones), then idle: a second later they stop (actors.idle-timeout=1s
  // to keep this short; the default's passivation is in operate_test), and within the
  // service's 10-s trim cycle their free pages are trimmed. Without the trim, status says
  // 0 trims and no memory_trimmed line is logged.
  running r{{"--actors.idle-timeout=1s"}};
  auto& [nats, dir, svc] = r;
  const auto truth = dir.str("truth.json");
  REQUIRE(load(nats, truth, {"--clicks", "20000", "--ads", "20000", "--batch", "500", "--seed", "41"}) == 0);
  std::string out;
  CHECK(verify(svc, {truth}, out) == 0);
  INFO(out);
  nlohmann::json s;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    s = svc.status();
    if (s.value("active_ads", 1) == 0 && s["memory"].value("trims", 0) >= 1) break;
    std::this_thread::sleep_for(500ms);
  }
  INFO(s.dump());
  CHECK(s.value("active_ads", 1) == 0);
  CHECK(s.value("passivated_ads", 0) >= 12'000);
  CHECK(s["memory"].value("trims", 0) >= 1);
  CHECK(svc.log_text().find("\"memory_trimmed\"") != std::string::npos);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("garbage on the clicks subjects is counted, logged and acked without blocking the partition", "[e2e]") {
  running r{service::options{{}, false, false}};  // the defaults: nothing here depends on time
  auto& [nats, dir, svc] = r;

  // Garbage first, on partitions 3 and 5, then valid clicks on every partition.
  auto nc = nats_connection::connect(nats.url(), "garbage");
  REQUIRE(nc);
  const int garbage = 25;
  for (int i = 0; i < garbage; ++i)
    REQUIRE_FALSE((*nc)->publish_async(i % 2 ? "adclick.clicks.3" : "adclick.clicks.5",
                                       std::string(1 + i, static_cast<char>(0xff)), "garbage-" + std::to_string(i)));
  REQUIRE_FALSE((*nc)->publish_async_complete(5000));
  const auto clicks = dir.str("clicks.json");
  REQUIRE(load(nats, clicks, {"--clicks", "5000", "--ads", "64", "--batch", "50", "--seed", "4", "--clock-skew-ms", "0"}) == 0);

  // The expected outcomes include the garbage: write it as a second truth file.
  const auto garbage_truth = dir.str("garbage.json");
  std::ofstream{garbage_truth} << nlohmann::json{{"version", 1},  {"seed", 0}, {"clicks", garbage},
                                                 {"outcomes", {{"malformed", garbage}}}, {"counts", nlohmann::json::array()}}
                                    .dump();
  std::string out;
  CHECK(verify(svc, {clicks, garbage_truth}, out, {"--allow-idle-final"}) == 0);
  INFO(out);

  // Everything, garbage included, gets checkpointed and acked.
  std::string waited;
  CHECK(test::run({test::adclick_bin(), "wait", "--http", svc.http(), "--arrived", std::to_string(5000 + garbage),
                   "--timeout", "30"},
                  waited) == 0);
  CHECK(svc.process().running());
  CHECK(svc.stop(SIGTERM) == 0);
  std::ifstream log{svc.log_path()};
  std::string text{std::istreambuf_iterator<char>{log}, {}};
  CHECK(text.find("\"event\":\"clicks_rejected\"") != std::string::npos);
}

TEST_CASE("deliveries lost when the server cuts a slow connection are re-fetched, not skipped", "[e2e]") {
  // A server that tolerates only 1 MiB pending per connection, and an adclickd allowed to
  // ask for 16 MiB per fetch: the server cuts it as a slow consumer, again and again.
  test::nats_server nats{"max_pending: 1048576"};
  REQUIRE(nats.ready());
  test::temp_dir dir;
  service svc{nats, dir, service::options{{"--ingest.fetch-max-bytes=16777216"}, false, false}};  // the defaults
  svc.start();  // creates the stream
  // A full stream waiting at start: all 16 partitions ask for 16 MiB at once. Whether the
  // server falls 1 MiB behind depends on timing, so repeat (a few rounds) until it has.
  std::vector<std::string> truths;
  std::uint64_t gaps = 0;
  std::string out;
  for (int round = 0; round < 4 && gaps == 0; ++round) {
    CHECK(svc.stop(SIGTERM) == 0);
    truths.push_back(dir.str("truth" + std::to_string(round) + ".json"));
    REQUIRE(load(nats, truths.back(), {"--clicks", "200000", "--ads", "2000", "--batch", "1000", "--seed",
                                       std::to_string(8 + round), "--clock-skew-ms", "0"}) == 0);
    svc.start();
    CHECK(verify(svc, truths, out, {"--allow-idle-final"}) == 0);
    INFO(out);
    http_client client{svc.http()};
    auto status = nlohmann::json::parse(client.get("/v1/admin/status").body);
    for (const auto& p : status["partitions"]) gaps += p["delivery_gaps"].get<std::uint64_t>();
  }
  // The cuts really happened, were repaired by re-syncing, and every count is exact.
  REQUIRE(gaps > 0);
  CHECK(verify(svc, truths, out, {"--allow-idle-final"}) == 0);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("a second adclickd on the same data directory exits with a clear error", "[e2e]") {
  test::nats_server nats;
  REQUIRE(nats.ready());
  test::temp_dir dir;
  service first{nats, dir, service::options{{}, false, false}};
  first.start();
  std::string out;
  int rc = test::run({test::adclickd_bin(), "--nats.url=" + nats.url(), "--storage.dir=" + dir.str("data"),
                      "--http.address=127.0.0.1:" + std::to_string(free_loopback_port())},
                     out, 30s);
  CHECK(rc == 1);
  CHECK(out.find("in use by another process") != std::string::npos);
  CHECK(first.stop(SIGTERM) == 0);
}

namespace {
/// PIDs of the direct children of `pid`.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in{"/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"};
  for (pid_t child; in >> child;) out.push_back(child);
  return out;
}
}  // namespace

namespace {
/// The blocked-signal mask (SigBlk) of every thread of `pid`, by thread id.
std::map<std::string, std::uint64_t> blocked_signals(pid_t pid) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in{task.path() / "status"};
    std::string line, name;
    while (std::getline(in, line)) {
      if (line.rfind("Name:", 0) == 0) name = line.substr(6);
      if (line.rfind("SigBlk:", 0) == 0)
        out[task.path().filename().string() + " " + name] = std::stoull(line.substr(7), nullptr, 16);
    }
  }
  return out;
}
constexpr std::uint64_t signal_bit(int sig) { return std::uint64_t{1} << (sig - 1); }
}  // namespace

TEST_CASE("every thread of adclickd blocks SIGTERM and SIGINT, so a stop always reaches the final checkpoint",
          "[e2e][signals]") {
  running r{service::options{{}, false, false}};
  auto& [nats, dir, svc] = r;
  const auto pid = svc.process().pid();
  const auto masks = blocked_signals(pid);
  REQUIRE(masks.size() > 3);  // main, CAF's clock, multiplexer and workers, HTTP, ingress
  for (const auto& [thread, mask] : masks) {
    // The main thread takes the signals in sigtimedwait, which unblocks them while it waits
    // (Linux shows that in SigBlk): every other thread must keep them blocked.
    if (thread.rfind(std::to_string(pid) + " ", 0) == 0) continue;
    INFO("thread " << thread);
    CHECK((mask & signal_bit(SIGTERM)) != 0);
    CHECK((mask & signal_bit(SIGINT)) != 0);
  }
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("with no NATS URL, adclickd runs and supervises its own nats-server", "[e2e]") {
  test::temp_dir dir;
  const int nats_port = free_loopback_port(), http_port = free_loopback_port();
  const auto http = "http://127.0.0.1:" + std::to_string(http_port);
  const auto nats_url = "nats://127.0.0.1:" + std::to_string(nats_port);
  subprocess svc{{test::adclickd_bin(), "--storage.dir=" + dir.str("data"),
                  "--nats.embedded-port=" + std::to_string(nats_port), "--http.address=127.0.0.1:" + std::to_string(http_port)},
                 dir.str("adclickd.log")};
  http_client client{http};
  auto wait_ready = [&] {
    for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
      if (client.get("/readyz").status == 200) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  REQUIRE(wait_ready());
  auto kids = children_of(svc.pid());
  REQUIRE(kids.size() == 1);  // the embedded nats-server
  // It must not inherit adclickd's blocked stop signals, or SIGTERM could not stop it.
  for (const auto& [thread, mask] : blocked_signals(kids[0])) {
    INFO("nats-server thread " << thread);
    CHECK((mask & signal_bit(SIGTERM)) == 0);
  }

  std::string out;
  const auto first = dir.str("first.json"), second = dir.str("second.json");
  REQUIRE(test::run({test::adclick_bin(), "load", "--nats", nats_url, "--clicks", "5000", "--ads", "50", "--seed", "5",
                     "--truth", first, "--quiet"},
                    out) == 0);
  CHECK(test::run({test::adclick_bin(), "verify", "--http", http, "--truth", first, "--wait", "30", "--allow-idle-final"},
                  out) == 0);

  // The server dies: adclickd starts a new one on the same store, and ingestion goes on.
  ::kill(kids[0], SIGKILL);
  std::vector<pid_t> after;
  for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
    after = children_of(svc.pid());
    if (after.size() == 1 && after[0] != kids[0] && wait_for_port(nats_port, 100ms)) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(after.size() == 1);
  CHECK(after[0] != kids[0]);
  REQUIRE(test::run({test::adclick_bin(), "load", "--nats", nats_url, "--clicks", "5000", "--ads", "50", "--seed", "6",
                     "--truth", second, "--quiet"},
                    out) == 0);
  CHECK(test::run({test::adclick_bin(), "verify", "--http", http, "--truth", first, "--truth", second, "--wait", "30",
                   "--allow-idle-final"},
                  out) == 0);
  INFO(out);

  // Stopping adclickd stops its nats-server too.
  CHECK(svc.stop() == 0);
  CHECK(::kill(after[0], 0) != 0);
}

TEST_CASE("reconcile replays exactly as far as the service has counted while idle markers keep coming",
          "[e2e][reconcile]") {
  // With a 1 s idle advance the service appends a marker to each quiet partition every
  // second: the stream grows past the positions reconcile read, and the replay must stop
  // at them rather than count (and wait for) what the service has not.
  running r{service::options{{"--windows.idle-advance=1s"}, false, false}};
  auto& [nats, dir, svc] = r;
  const auto truth = dir.str("truth.json");
  REQUIRE(load(nats, truth, {"--clicks", "5000", "--ads", "100", "--seed", "221", "--clock-skew-ms", "0"}) == 0);
  std::this_thread::sleep_for(3s);  // markers appended
  std::string out;
  for (int round = 0; round < 3; ++round) {
    CHECK(test::run({test::adclick_bin(), "reconcile", "--nats", nats.url(), "--http", svc.http(), "--wait", "30"},
                    out, 90s) == 0);
    INFO(out);
  }
  CHECK(svc.stop(SIGTERM) == 0);
}
