// The read side against a running adclickd on a real nats-server: every endpoint,
// granularity and view, the error cases, campaign and advertiser series against the sum of
// their ads in the ground truth, and top-K against a brute-force answer over it.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <functional>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/core/ranking.hpp"
#include "actors/core/rollup.hpp"
#include "common/time.hpp"
#include "messages/click_codec.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tools/http_client.hpp"
#include "tools/truth.hpp"
#include "gateway/nats/nats_client.hpp"
#include "adclick/v1/query.pb.h"

using namespace adclick;
using namespace adclick::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

json get(const service& svc, const std::string& path, int expect_status = 200) {
  http_client client{svc.http()};
  auto res = client.get(path);
  INFO(path << " -> " << res.status << " " << res.body);
  REQUIRE(res.status == expect_status);
  return json::parse(res.body);
}

/// Retries `check` (which returns a description of the difference, empty when equal) for
/// up to 20 s: the store-backed views trail the live one by a checkpoint.
void eventually(const std::function<std::string()>& check) {
  std::string diff;
  for (int i = 0; i < 100; ++i) {
    diff = check();
    if (diff.empty()) return;
    std::this_thread::sleep_for(200ms);
  }
  FAIL(diff);
}

std::string series_path(const std::string& kind, std::uint64_t id, std::int64_t from, std::int64_t to,
                        const std::string& gran, const std::string& view) {
  return "/v1/" + kind + "/" + std::to_string(id) + "/clicks?from=" + std::to_string(from) +
         "&to=" + std::to_string(to) + "&granularity=" + gran + "&view=" + view;
}

std::vector<series_point> points_of(const json& body) {
  std::vector<series_point> out;
  for (const auto& p : body["series"]) {
    series_point x;
    x.start_ms = p["start_ms"];
    x.count = p["count"];
    const std::string state = p["state"];
    x.state = state == "open" ? bucket_state::open : state == "final" ? bucket_state::final : bucket_state::amended;
    x.version = p["version"];
    out.push_back(x);
  }
  return out;
}

std::string compare(const std::vector<series_point>& got, const std::vector<series_point>& want) {
  if (got.size() != want.size())
    return "got " + std::to_string(got.size()) + " buckets, want " + std::to_string(want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& g = got[i];
    const auto& w = want[i];
    if (g.start_ms != w.start_ms || g.count != w.count || g.state != w.state || g.version != w.version)
      return "bucket " + std::to_string(w.start_ms) + ": got " + std::to_string(g.count) + " " + to_string(g.state) +
             " v" + std::to_string(g.version) + " at " + std::to_string(g.start_ms) + ", want " +
             std::to_string(w.count) + " " + to_string(w.state) + " v" + std::to_string(w.version);
  }
  return {};
}

/// The contribution of a truth bucket (what the service's rollups add up).
rollup_value contribution_of(const expected_bucket& b, std::int64_t minute) {
  return contribution({minute, b.count, b.state(), b.version()});
}

/// Expected series of a group from the truth: sums of its ads' contributions per bucket,
/// in the state the service's final_before gives.
std::vector<series_point> expected_group(const truth& t, const std::function<bool(std::uint64_t)>& member,
                                         granularity g, std::int64_t final_before, bool billing) {
  std::map<std::int64_t, rollup_value> sums;
  for (const auto& [key, b] : t.counts)
    if (member(key.first)) sums[bucket_start(key.second, bucket_width(g))] += contribution_of(b, key.second);
  std::vector<series_point> out;
  for (const auto& [start, v] : sums) {
    if (v.count == 0) continue;
    auto p = point_of(start, bucket_width(g), v, final_before);
    if (billing && p.state == bucket_state::open) continue;
    out.push_back(p);
  }
  return out;
}

struct mode {
  bool pinned;
};

}  // namespace

TEST_CASE("hours, days, campaigns, advertisers and top-K agree with the ground truth in both views", "[e2e][query]") {
  const mode m{GENERATE(true, false)};
  INFO((m.pinned ? "pinned windows" : "default windows"));
  running r{service::options{fault_mix_service, m.pinned, false}};
  auto& [nats, dir, svc] = r;
  const auto truth_path = dir.str("truth.json");
  // 60k clicks over 80 minutes of event time: two or three hours, 300 ads, 30 campaigns,
  // 3 advertisers, with every fault of the mix.
  std::vector<std::string> args{"--clicks", "60000", "--ads", "300", "--batch", "100", "--zipf", "1.1",
                                "--dup-rate", "0.1", "--ooo-rate", "0.2", "--late-rate", "0.02", "--seed", "45",
                                "--event-rate", "12", "--lateness-ms", "60000"};
  // At the default windows the clicks end now, as a live publisher's would (event time
  // starting now would run past max-future-skew after 5 minutes of it).
  if (!m.pinned) args.insert(args.end(), {"--clock-skew-ms", "-4800000"});
  REQUIRE(load(nats, truth_path, args) == 0);
  std::string out;
  std::vector<std::string> verify_flags;
  if (!m.pinned) verify_flags.push_back("--allow-idle-final");
  REQUIRE(verify(svc, {truth_path}, out, verify_flags) == 0);
  // Campaigns, advertisers and top-K answer from the store, a checkpoint behind the live
  // view that verify compared: make what verify saw durable first. (Without it a group
  // asked right after verify, on a loaded machine, had no share stored yet: a 404.)
  REQUIRE(http_client{svc.http()}.post("/v1/admin/checkpoint").status == 200);
  std::string error;
  auto t = truth::load(truth_path, error);
  REQUIRE(t);

  std::int64_t first = INT64_MAX, last = INT64_MIN;
  std::map<std::uint64_t, std::uint64_t> ad_totals;
  for (const auto& [key, b] : t->counts) {
    first = std::min(first, key.second);
    last = std::max(last, key.second + minute_ms);
    ad_totals[key.first] += b.count;
  }
  const auto from = bucket_start(first, day_ms);
  const auto to = bucket_start(last - 1, day_ms) + day_ms;

  SECTION("an ad's hours and days are the sums of its minutes, with their states and versions") {
    for (const auto& [ad, total] : ad_totals) {
      if (ad % 17 != 0) continue;  // a sample of every popularity
      for (const std::string view : {"live", "billing"}) {
        eventually([&]() -> std::string {
          auto minutes = get(svc, series_path("ads", ad, from, to, "minute", view));
          for (const std::string gran : {"hour", "day"}) {
            auto rolled = get(svc, series_path("ads", ad, from, to, gran, view));
            granularity g{};
            from_string(gran, g);
            auto want = rollup(points_of(minutes), g, rolled["final_before_ms"]);
            if (view == "billing")
              want.erase(std::remove_if(want.begin(), want.end(),
                                        [](const series_point& p) { return p.state == bucket_state::open; }),
                         want.end());
            if (auto diff = compare(points_of(rolled), want); !diff.empty())
              return "ad " + std::to_string(ad) + " " + gran + " " + view + ": " + diff;
          }
          return {};
        });
      }
    }
  }

  SECTION("campaign and advertiser series are the sums of their ads, at every granularity and view") {
    for (const auto& [kind, of] : std::vector<std::pair<std::string, std::function<std::uint64_t(std::uint64_t)>>>{
           {"campaigns", [](std::uint64_t ad) { return ad / 10 + 1; }},
           {"advertisers", [](std::uint64_t ad) { return ad / 100 + 1; }}}) {
      std::map<std::uint64_t, bool> groups;
      for (const auto& [ad, total] : ad_totals) groups[of(ad)] = true;
      for (const auto& [id, yes] : groups) {
        if (kind == "campaigns" && id % 4 != 1) continue;
        for (const std::string view : {"live", "billing"})
          for (const std::string gran : {"minute", "hour", "day"})
            eventually([&]() -> std::string {
              auto body = get(svc, series_path(kind, id, from, to, gran, view));
              granularity g{};
              from_string(gran, g);
              auto want = expected_group(*t, [&](std::uint64_t ad) { return of(ad) == id; }, g,
                                         body["final_before_ms"], view == "billing");
              auto diff = compare(points_of(body), want);
              return diff.empty() ? diff : kind + " " + std::to_string(id) + " " + gran + " " + view + ": " + diff;
            });
      }
    }
  }

  SECTION("top-K equals a brute-force ranking of the truth, ties by id") {
    for (const std::string by : {"ad", "campaign", "advertiser"})
      for (int k : {1, 10, 100}) {
        std::map<std::uint64_t, std::uint64_t> totals;
        for (const auto& [key, b] : t->counts) {
          const auto id = by == "ad" ? key.first : by == "campaign" ? key.first / 10 + 1 : key.first / 100 + 1;
          totals[id] += b.count;
        }
        std::vector<ranked> all;
        for (const auto& [id, n] : totals) all.push_back({id, n});
        const auto want = top_of(all, static_cast<std::size_t>(k));
        eventually([&]() -> std::string {
          auto body = get(svc, "/v1/top?from=" + std::to_string(from) + "&to=" + std::to_string(to) +
                                 "&k=" + std::to_string(k) + "&by=" + by + "&view=live");
          if (body["by"] != by || body["k"] != k || body["from_ms"] != from || body["to_ms"] != to)
            return "echo: " + body.dump();
          const auto& top = body["top"];
          if (top.size() != want.size())
            return by + " top " + std::to_string(k) + ": " + std::to_string(top.size()) + " entries";
          for (std::size_t i = 0; i < want.size(); ++i)
            if (top[i]["id"] != want[i].id || top[i]["count"] != want[i].count)
              return by + " top " + std::to_string(k) + " #" + std::to_string(i) + ": got " + top[i].dump() +
                     ", want " + std::to_string(want[i].id) + "=" + std::to_string(want[i].count);
          return {};
        });
      }
    // Billing counts only the hours (and days) that are final everywhere.
    auto body = get(svc, "/v1/top?from=" + std::to_string(from) + "&to=" + std::to_string(to) + "&k=5&by=ad&view=billing");
    std::int64_t final_before = INT64_MAX;
    const auto status = svc.status();
    for (const auto& p : status["partitions"]) final_before = std::min<std::int64_t>(final_before, p["durable_final_before_ms"]);
    std::map<std::uint64_t, std::uint64_t> billed;
    for (const auto& [key, b] : t->counts)
      if (bucket_start(key.second, hour_ms) + hour_ms <= final_before) billed[key.first] += b.count;
    std::vector<ranked> all;
    for (const auto& [id, n] : billed) all.push_back({id, n});
    const auto want = top_of(all, 5);
    INFO("final_before " << final_before << " from " << from << " to " << to << " body " << body.dump());
    REQUIRE(body["top"].size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      CHECK(body["top"][i]["id"] == want[i].id);
      CHECK(body["top"][i]["count"] == want[i].count);
    }
  }

  SECTION("NATS request/reply on adclick.query.<partition> answers what HTTP answers") {
    auto nc = nats_connection::connect(nats.url(), "query-test");
    REQUIRE(nc);
    auto ask_nats = [&](const v1::QueryRequest& req, std::uint32_t partition) {
      auto bytes = (*nc)->request("adclick.query." + std::to_string(partition), req.SerializeAsString(), 5000);
      REQUIRE(bytes);
      v1::QueryResponse res;
      REQUIRE(res.ParseFromString(*bytes));
      return res;
    };
    // The two doors are asked one after the other while idle markers and checkpoints may
    // still move the state (campaigns and top-K are as of the last checkpoint): compare a
    // pair of answers until one pair is taken at the same state.
    auto differ = [&](const v1::QueryResponse& res, const json& http) -> std::string {
      if (res.status() != 200) return "NATS status " + std::to_string(res.status()) + ": " + res.error();
      if (res.series_size() != static_cast<int>(http["series"].size())) return "series sizes differ";
      if (res.watermark_ms() != http["watermark_ms"] || res.from_ms() != http["from_ms"] || res.to_ms() != http["to_ms"])
        return "watermark or range differs";
      for (int i = 0; i < res.series_size(); ++i) {
        const auto& b = res.series(i);
        const auto& h = http["series"][static_cast<std::size_t>(i)];
        std::string st = h["state"];
        for (auto& c : st) c = static_cast<char>(std::toupper(c));
        if (b.start_ms() != h["start_ms"] || b.count() != h["count"] || v1::BucketState_Name(b.state()) != st ||
            b.version() != h["version"])
          return "bucket " + std::to_string(i) + " differs: NATS " + std::to_string(b.start_ms()) + " " +
                 std::to_string(b.count()) + ", HTTP " + h.dump();
      }
      return {};
    };
    const std::uint64_t ad = ad_totals.rbegin()->first;
    for (auto [g, gname] : {std::pair{v1::MINUTE, "minute"}, std::pair{v1::HOUR, "hour"}, std::pair{v1::DAY, "day"}})
      for (auto [v, vname] : {std::pair{v1::LIVE, "live"}, std::pair{v1::BILLING, "billing"}}) {
        v1::QueryRequest req;
        req.set_id(ad);
        req.set_from_ms(from);
        req.set_to_ms(to);
        req.set_granularity(g);
        req.set_view(v);
        eventually([&] {
          return differ(ask_nats(req, static_cast<std::uint32_t>(ad % 16)),
                        get(svc, series_path("ads", ad, from, to, gname, vname)));
        });
        req.set_kind(v1::CAMPAIGN);
        req.set_id(1);
        eventually([&] { return differ(ask_nats(req, 5), get(svc, series_path("campaigns", 1, from, to, gname, vname))); });
      }
    v1::QueryRequest top;
    top.set_top(true);
    top.set_k(7);
    top.set_by(v1::CAMPAIGN);
    top.set_from_ms(from);
    top.set_to_ms(to);
    v1::QueryResponse res;
    eventually([&]() -> std::string {
      res = ask_nats(top, 0);
      auto http = get(svc, "/v1/top?from=" + std::to_string(from) + "&to=" + std::to_string(to) + "&k=7&by=campaign");
      if (res.status() != 200) return "NATS top status " + std::to_string(res.status());
      if (res.top_size() != static_cast<int>(http["top"].size())) return "top sizes differ";
      for (int i = 0; i < res.top_size(); ++i)
        if (res.top(i).id() != http["top"][static_cast<std::size_t>(i)]["id"] ||
            res.top(i).count() != http["top"][static_cast<std::size_t>(i)]["count"])
          return "top #" + std::to_string(i) + " differs";
      return {};
    });
    // Errors: the same status and code as HTTP.
    v1::QueryRequest bad;
    bad.set_id(ad);
    bad.set_from_ms(to);
    bad.set_to_ms(from);
    res = ask_nats(bad, static_cast<std::uint32_t>(ad % 16));
    CHECK(res.status() == 400);
    CHECK(res.error_code() == "bad_parameter");
    bad.set_from_ms(from);
    bad.set_to_ms(to);
    bad.set_id(987654320);  // partition 0, never seen
    res = ask_nats(bad, 0);
    CHECK(res.status() == 404);
    CHECK(res.error_code() == "not_found");
    auto garbage = (*nc)->request("adclick.query.3", "\xff\xff not protobuf", 5000);
    REQUIRE(garbage);
    v1::QueryResponse g;
    REQUIRE(g.ParseFromString(*garbage));
    CHECK(g.status() == 400);
  }

  SECTION("bad parameters are 400, unknown paths and ids 404, with a JSON error") {
    const auto range = "from=" + std::to_string(from) + "&to=" + std::to_string(to);
    const std::uint64_t ad = ad_totals.begin()->first;
    const auto on = "/v1/ads/" + std::to_string(ad) + "/clicks?";
    for (const auto& path : std::vector<std::string>{
           "/v1/ads/abc/clicks?" + range, "/v1/ads/-1/clicks?" + range, "/v1/ads/99999999999999999999/clicks?" + range,
           on + "from=" + std::to_string(to) + "&to=" + std::to_string(from), on + "from=x&to=y", on + "to=5",
           on + range + "&granularity=week", on + range + "&view=raw", on + range + "&colour=blue",
           on + range + "&view=live&view=billing", "/v1/top?" + range + "&k=3&k=4",
           on + "from=0&to=" + std::to_string(8 * day_ms) + "&granularity=minute",
           "/v1/top?" + range + "&k=0", "/v1/top?" + range + "&k=1001", "/v1/top?" + range + "&by=creative",
           "/v1/top?" + range + "&k=ten", "/v1/campaigns/x/clicks?" + range}) {
      auto body = get(svc, path, 400);
      CHECK(body["error"]["code"] == "bad_parameter");
      CHECK_FALSE(body["error"]["message"].get<std::string>().empty());
    }
    CHECK(get(svc, "/v1/nothing/here", 404)["error"]["code"] == "not_found");
    CHECK(get(svc, "/v1/ads/987654321/clicks?" + range, 404)["error"]["code"] == "not_found");
    CHECK(get(svc, "/v1/campaigns/987654321/clicks?" + range, 404)["error"]["code"] == "not_found");
    CHECK(get(svc, "/v1/advertisers/987654321/clicks?" + range, 404)["error"]["code"] == "not_found");
    // The widest ranges each granularity keeps are accepted (ending with the counts: the
    // minutes and hours they keep are the 7 and 90 days behind the watermark); before
    // those, 410.
    auto ending = [&](std::int64_t days, const char* gran) {
      return on + "from=" + std::to_string(to - days * day_ms) + "&to=" + std::to_string(to) + "&granularity=" + gran;
    };
    get(svc, ending(7, "minute"));
    get(svc, ending(90, "hour"));
    get(svc, on + "from=0&to=" + std::to_string(3000 * day_ms) + "&granularity=day");
    auto between = [&](std::int64_t from_days, std::int64_t to_days, const char* gran) {
      return on + "from=" + std::to_string(to - from_days * day_ms) + "&to=" + std::to_string(to - to_days * day_ms) +
             "&granularity=" + gran;
    };
    CHECK(get(svc, between(9, 2, "minute"), 410)["error"]["code"] == "past_retention");
    CHECK(get(svc, between(92, 80, "hour"), 410)["error"]["code"] == "past_retention");
  }
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("while a partition recovers, every door answers 503 recovering with Retry-After, never a count",
          "[e2e][query][recovering]") {
  // The defaults (no pinned windows): the recovering path does not depend on them.
  running r{service::options{{}, false, true}};
  auto& [nats, dir, svc] = r;
  const auto truth_path = dir.str("truth.json");
  REQUIRE(load(nats, truth_path, {"--clicks", "2000", "--ads", "20", "--seed", "61", "--clock-skew-ms", "0"}) == 0);
  std::string out;
  REQUIRE(verify(svc, {truth_path}, out, {"--allow-idle-final"}) == 0);
  const auto now = now_ms();
  const auto ad_path = series_path("ads", 1, now - day_ms, now + hour_ms, "minute", "live");
  std::map<std::int64_t, std::uint64_t> before;
  for (const auto& p : points_of(get(svc, ad_path))) before[p.start_ms] = p.count;
  REQUIRE_FALSE(before.empty());

  // Restarted on a disk too slow to read the open buckets back: recovery cannot finish.
  REQUIRE(svc.stop(SIGTERM) == 0);
  svc.faults({"storage-scan-stall"});
  svc.launch();
  http_client client{svc.http()};
  for (int i = 0; i < 300 && client.get("/livez").status != 200; ++i) std::this_thread::sleep_for(100ms);
  REQUIRE(client.get("/livez").status == 200);

  auto [ready, reasons] = svc.readyz();
  CHECK(ready == 503);
  CHECK(reasons.dump().find("recovering") != std::string::npos);
  const auto range = "from=" + std::to_string(now - day_ms) + "&to=" + std::to_string(now + hour_ms);
  for (const auto& path : {ad_path, series_path("campaigns", 1, now - day_ms, now + hour_ms, "hour", "billing"),
                           series_path("advertisers", 1, now - day_ms, now + hour_ms, "day", "live"),
                           "/v1/top?k=5&" + range}) {
    auto res = client.get(path);
    INFO(path << " -> " << res.status << " " << res.body);
    CHECK(res.status == 503);
    CHECK(json::parse(res.body)["error"]["code"] == "recovering");
    CHECK(res.retry_after == "1");
  }
  // A live stream would open without the current counts it promises: refused too.
  auto stream = client.get("/v1/stream?ads=1");
  CHECK(stream.status == 503);
  CHECK(stream.retry_after == "1");
  auto nc = nats_connection::connect(nats.url(), "query-test");
  REQUIRE(nc);
  v1::QueryRequest req;
  req.set_id(1);
  req.set_from_ms(now - day_ms);
  req.set_to_ms(now + hour_ms);
  auto bytes = (*nc)->request("adclick.query." + std::to_string(partition_of(1, 16)), req.SerializeAsString(), 5000);
  REQUIRE(bytes);
  v1::QueryResponse res;
  REQUIRE(res.ParseFromString(*bytes));
  CHECK(res.status() == 503);
  CHECK(res.error_code() == "recovering");
  CHECK(res.series_size() == 0);

  // The disk recovers: the same counts as before the restart.
  svc.faults({});
  REQUIRE(svc.wait_ready());
  std::map<std::int64_t, std::uint64_t> after;
  for (const auto& p : points_of(get(svc, ad_path))) after[p.start_ms] = p.count;
  CHECK(after == before);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("a top-K stuck on the store holds up neither readiness nor other queries", "[e2e][query][reader]") {
  running r{service::options{{}, false, true}};
  auto& [nats, dir, svc] = r;
  const auto truth_path = dir.str("truth.json");
  REQUIRE(load(nats, truth_path, {"--clicks", "2000", "--ads", "20", "--seed", "62", "--clock-skew-ms", "0"}) == 0);
  std::string out;
  REQUIRE(verify(svc, {truth_path}, out, {"--allow-idle-final"}) == 0);
  const auto now = now_ms();
  const auto range = "from=" + std::to_string(now - day_ms) + "&to=" + std::to_string(now + hour_ms);

  svc.faults({"storage-read-hang"});
  std::this_thread::sleep_for(300ms);  // adclickd re-reads the fault file every 50 ms
  std::atomic<bool> answered{false};
  http_client::response top;
  std::thread asker{[&] {
    http_client client{svc.http()};
    top = client.get("/v1/top?k=5&" + range);
    answered = true;
  }};
  std::this_thread::sleep_for(500ms);  // the top-K is waiting on the store
  CHECK_FALSE(answered.load());
  CHECK(svc.readyz().first == 200);
  http_client client{svc.http()};
  CHECK(client.get(series_path("ads", 1, now - day_ms, now + hour_ms, "minute", "live")).status == 200);
  CHECK(client.get("/v1/admin/status").status == 200);
  CHECK_FALSE(answered.load());  // all of that while the top-K was still stuck

  svc.faults({});
  asker.join();
  INFO(top.body);
  REQUIRE(top.status == 200);
  CHECK(json::parse(top.body)["top"].size() == 5);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("minutes past retention.minute are deleted and refused with 410, while hours, days and the recent minutes "
          "still agree with the ground truth",
          "[e2e][query][retention]") {
  const mode m{GENERATE(true, false)};
  INFO((m.pinned ? "pinned windows" : "default windows"));
  const std::vector<std::string> windows{"--windows.allowed-lateness=1min", "--dedup.horizon=5min"};
  auto flags = windows;
  flags.insert(flags.end(), {"--retention.minute=10min", "--retention.hour=0s", "--retention.interval=1s", "--live.replay=10min"});
  running r{service::options{flags, m.pinned, false}};
  auto& [nats, dir, svc] = r;
  const auto truth_path = dir.str("truth.json");
  // 20k clicks over 83 minutes of event time, 100 ads, with repeats, disorder and late clicks.
  std::vector<std::string> args{"--clicks", "20000", "--ads", "100", "--batch", "100", "--zipf", "1.1",
                                "--dup-rate", "0.05", "--ooo-rate", "0.1", "--late-rate", "0.01", "--seed", "71",
                                "--event-rate", "4", "--lateness-ms", "60000", "--horizon-ms", "300000"};
  if (!m.pinned) args.insert(args.end(), {"--clock-skew-ms", "-5000000"});  // ending about now
  REQUIRE(load(nats, truth_path, args) == 0);
  std::string error;
  auto t = truth::load(truth_path, error);
  REQUIRE(t);
  std::int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto& [key, b] : t->counts) {
    first = std::min(first, key.second);
    last = std::max(last, key.second);
  }
  REQUIRE(last - first > 60 * minute_ms);

  // Retention runs every second; wait for a pass after every partition counted the load.
  json st;
  for (int i = 0; i < 600; ++i) {
    st = svc.status();
    if (st["storage"].value("minutes_kept_from_ms", 0LL) > last - 15 * minute_ms &&
        st["storage"].value("purged_count_keys", std::uint64_t{0}) > 0)
      break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(st["storage"].dump());
  REQUIRE(st["storage"].value("minutes_kept_from_ms", 0LL) > last - 15 * minute_ms);
  CHECK(st["storage"]["purged_count_keys"].get<std::uint64_t>() > 0);
  {
    http_client client{svc.http()};
    const auto metrics = client.get("/metrics").body;
    CHECK(metrics.find("adclick_retention_purged_count_keys_total") != std::string::npos);
    CHECK(metrics.find("adclick_store_bytes{kind=\"rollups\"}") != std::string::npos);
  }

  const auto from = bucket_start(first, day_ms);
  const auto to = bucket_start(last, day_ms) + day_ms;
  const auto recent = minute_of(last) - 4 * minute_ms;  // inside every partition's kept minutes
  auto of_ad = [](std::uint64_t id) { return [id](std::uint64_t ad) { return ad == id; }; };
  auto of_campaign = [](std::uint64_t id) { return [id](std::uint64_t ad) { return ad / 10 + 1 == id; }; };
  auto check_all = [&] {
    for (std::uint64_t ad : {1, 2, 7, 40}) {
      for (const std::string view : {"live", "billing"}) {
        // The whole range at minute granularity is refused, saying why; the same at hours is not.
        auto body = get(svc, series_path("ads", ad, from, to, "minute", view), 410);
        CHECK(body["error"]["code"] == "past_retention");
        CHECK(body["error"]["message"].get<std::string>().find("retention.minute") != std::string::npos);
        for (const std::string gran : {"hour", "day"})
          eventually([&]() -> std::string {
            auto rolled = get(svc, series_path("ads", ad, from, to, gran, view));
            granularity g{};
            from_string(gran, g);
            auto want = expected_group(*t, of_ad(ad), g, rolled["final_before_ms"], view == "billing");
            auto diff = compare(points_of(rolled), want);
            return diff.empty() ? diff : "ad " + std::to_string(ad) + " " + gran + " " + view + ": " + diff;
          });
        eventually([&]() -> std::string {  // the recent minutes are all there
          auto minutes = get(svc, series_path("ads", ad, recent, to, "minute", view));
          std::vector<series_point> want;
          for (const auto& [key, b] : t->counts)
            if (key.first == ad && key.second >= recent && (view == "live" || b.state() != bucket_state::open))
              want.push_back({key.second, b.count, b.state(), b.version()});
          auto diff = compare(points_of(minutes), want);
          return diff.empty() ? diff : "ad " + std::to_string(ad) + " recent minutes " + view + ": " + diff;
        });
      }
    }
    for (std::uint64_t campaign : {1, 3}) {
      CHECK(get(svc, series_path("campaigns", campaign, from, to, "minute", "billing"), 410)["error"]["code"] ==
            "past_retention");
      eventually([&]() -> std::string {
        auto body = get(svc, series_path("campaigns", campaign, from, to, "hour", "billing"));
        auto want = expected_group(*t, of_campaign(campaign), granularity::hour, body["final_before_ms"], true);
        auto diff = compare(points_of(body), want);
        return diff.empty() ? diff : "campaign " + std::to_string(campaign) + " hours: " + diff;
      });
    }
  };
  check_all();
  // adclick verify checks every ad's hours the same way (its minutes would be refused).
  std::string out;
  CHECK(verify(svc, {truth_path}, out, {"--granularity", "hour", "--allow-idle-final"}) == 0);
  CHECK(verify(svc, {truth_path}, out, {"--granularity", "day", "--view", "billing", "--allow-idle-final"}) == 0);
  // The replay of the stream agrees on the hours (reconcile --granularity hour).
  CHECK(run({adclick_bin(), "reconcile", "--nats", nats.url(), "--http", svc.http(), "--wait", "60", "--granularity",
             "hour"},
            out, 600s) == 0);
  INFO(out);
  // Minutes: 410, and verify says so.
  CHECK(run({adclick_bin(), "verify", "--http", svc.http(), "--truth", truth_path, "--allow-idle-final"}, out, 60s) == 1);
  CHECK(out.find("past_retention") != std::string::npos);
  // A restart reads what is left: nothing deleted comes back, nothing kept is lost. And
  // with minutes kept forever from now on, those already deleted are still refused (the
  // stored floor), never answered as empty.
  const auto kept_from = svc.status()["storage"].value("minutes_kept_from_ms", 0LL);
  CHECK(svc.stop(SIGTERM) == 0);
  auto forever = windows;
  forever.insert(forever.end(), {"--retention.minute=0s", "--retention.hour=0s", "--retention.interval=1s"});
  svc.use_flags(forever);
  svc.start();
  check_all();
  // And status says so: minutes are kept from where the deletes stopped, not from the start.
  long long kept_after = 0;
  for (int i = 0; i < 300 && kept_after == 0; ++i) {
    kept_after = svc.status()["storage"].value("minutes_kept_from_ms", 0LL);
    if (kept_after == 0) std::this_thread::sleep_for(100ms);
  }
  CHECK(kept_after == kept_from);
  CHECK(svc.stop(SIGTERM) == 0);
}
