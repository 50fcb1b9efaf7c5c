// Live updates against a running adclickd on a real nats-server: Server-Sent Events
// (an update within a second of a publish, resume with Last-Event-ID, heartbeats, the
// stream cap, a clean close at shutdown) and CountUpdate on adclick.live.<ad> and
// adclick.live.campaign.<id>.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "adclick/v1/query.pb.h"
#include "common/time.hpp"
#include "gateway/nats/nats_client.hpp"
#include "messages/click_codec.hpp"
#include "tests/e2e/e2e_support.hpp"
#include "tools/http_client.hpp"
#include "tools/sse_reader.hpp"

using namespace adclick;
using namespace adclick::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// An SSE client on its own thread, keeping every event with the time it arrived.
class sse_client {
 public:
  sse_client(const std::string& http, const std::string& path, std::string last_event_id = {})
    : thread_([=] {
        http_client client{http};
        auto res = client.stream(path, last_event_id, [&](const std::string& chunk) {
          std::lock_guard<std::mutex> lock{mutex_};
          for (auto& e : reader_.feed(chunk)) events_.push_back({std::chrono::steady_clock::now(), std::move(e)});
          comments_ = reader_.comments();
          retry_ = reader_.retry_ms();
          return !stop_.load();
        });
        std::lock_guard<std::mutex> lock{mutex_};
        status_ = res.status;
        body_ = res.body;
        ended_ = true;
      }) {}
  ~sse_client() {
    stop_ = true;
    thread_.detach();  // it ends at its next chunk (a heartbeat at the latest) or with the server
  }

  struct received {
    std::chrono::steady_clock::time_point at;
    sse_event event;
  };
  /// Waits up to `timeout` for an event matching `pred`; returns it.
  std::optional<received> wait_for(const std::function<bool(const json&)>& pred, std::chrono::milliseconds timeout,
                                   std::size_t from = 0) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {  // looks at least once, also with a zero timeout
      {
        std::lock_guard<std::mutex> lock{mutex_};
        for (std::size_t i = from; i < events_.size(); ++i)
          if (events_[i].event.event == "count" && pred(json::parse(events_[i].event.data))) return events_[i];
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock{mutex_};
    return events_.size();
  }
  std::vector<received> events() {
    std::lock_guard<std::mutex> lock{mutex_};
    return events_;
  }
  std::uint64_t comments() {
    std::lock_guard<std::mutex> lock{mutex_};
    return comments_;
  }
  std::int64_t retry() {
    std::lock_guard<std::mutex> lock{mutex_};
    return retry_;
  }
  bool ended() {
    std::lock_guard<std::mutex> lock{mutex_};
    return ended_;
  }
  int status() {
    std::lock_guard<std::mutex> lock{mutex_};
    return status_;
  }

 private:
  std::mutex mutex_;
  sse_reader reader_;
  std::vector<received> events_;
  std::uint64_t comments_ = 0;
  std::int64_t retry_ = -1;
  bool ended_ = false;
  int status_ = 0;
  std::string body_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Publishes one click of `ad` (campaign ad/10+1) at `event_ms`; returns when the stream has it.
void publish_click(nats_connection& nc, std::uint64_t ad, std::int64_t event_ms, std::uint64_t id) {
  click c;
  c.ad_id = ad;
  c.campaign_id = ad / 10 + 1;
  c.advertiser_id = ad / 100 + 1;
  c.event_time_ms = event_ms;
  for (int i = 0; i < 8; ++i) c.id[i] = static_cast<std::uint8_t>(id >> (8 * i));
  c.id[15] = 0x5e;
  REQUIRE_FALSE(nc.publish_async("adclick.clicks." + std::to_string(ad % 16), encode_click_batch(&c, 1),
                                 "live-" + std::to_string(id)));
  REQUIRE_FALSE(nc.publish_async_complete(5000));
}

}  // namespace

TEST_CASE("SSE delivers an update within a second, resumes with Last-Event-ID, beats, caps and closes cleanly",
          "[e2e][live]") {
  const bool pinned = GENERATE(true, false);
  INFO((pinned ? "pinned windows, 1 s heartbeat" : "default windows and heartbeat"));
  std::vector<std::string> flags{"--live.max-streams=2"};
  if (pinned) flags.push_back("--live.heartbeat=1s");
  running r{service::options{flags, pinned, false}};
  auto& [nats, dir, svc] = r;
  auto nc = nats_connection::connect(nats.url(), "live-test");
  REQUIRE(nc);
  const std::int64_t base = pinned ? t0 : minute_of(now_ms());
  const std::uint64_t ad = 21;  // campaign 3

  sse_client stream{svc.http(), "/v1/stream?ads=" + std::to_string(ad) + "&campaigns=3"};
  std::this_thread::sleep_for(300ms);  // connected
  const auto published = std::chrono::steady_clock::now();
  publish_click(**nc, ad, base + 1000, 1);
  auto first = stream.wait_for([&](const json& e) { return e["kind"] == "ad" && e["id"] == ad && e["count"] == 1; }, 5s);
  REQUIRE(first);
  CHECK(first->at - published < 1s);  // click to live update within a second
  CHECK(json::parse(first->event.data)["bucket_start_ms"] == base);
  CHECK(stream.retry() > 0);
  const auto first_id = std::stoull(first->event.id);

  // Two more clicks: the count moves, and the ids keep rising.
  publish_click(**nc, ad, base + 2000, 2);
  publish_click(**nc, ad, base + 3000, 3);
  auto third = stream.wait_for([&](const json& e) { return e["kind"] == "ad" && e["count"] == 3; }, 5s);
  REQUIRE(third);
  CHECK(std::stoull(third->event.id) > first_id);
  // The campaign's minute follows after the checkpoint.
  CHECK(stream.wait_for([&](const json& e) { return e["kind"] == "campaign" && e["id"] == 3 && e["count"] == 3; }, 10s));

  // A resume with Last-Event-ID gets the current counts first, with later ids (and a list
  // given as repeated parameters counts every one of them).
  sse_client resumed{svc.http(), "/v1/stream?ads=99&ads=" + std::to_string(ad), third->event.id};
  auto replay = resumed.wait_for([&](const json& e) { return e["kind"] == "ad" && e["count"] == 3; }, 5s);
  REQUIRE(replay);
  CHECK(std::stoull(replay->event.id) > std::stoull(third->event.id));

  // The cap: a third concurrent stream is refused with 503.
  http_client client{svc.http()};
  std::string body;
  auto refused = client.stream("/v1/stream?ads=1", "", [](const std::string&) { return false; });
  CHECK(refused.status == 503);
  // Bad parameters.
  CHECK(client.get("/v1/stream").status == 400);
  CHECK(client.get("/v1/stream?ads=1,x").status == 400);
  CHECK(client.get("/v1/stream?creatives=1").status == 400);

  // Heartbeats on a quiet stream.
  const auto beat_wait = pinned ? 3s : 20s;
  const auto beats = stream.comments();
  std::this_thread::sleep_for(beat_wait);
  CHECK(stream.comments() > beats);

  // A clean close: adclickd stops promptly with streams open, and they end.
  const auto stop_started = std::chrono::steady_clock::now();
  CHECK(svc.stop(SIGTERM) == 0);
  CHECK(std::chrono::steady_clock::now() - stop_started < 10s);
  for (int i = 0; i < 100 && !(stream.ended() && resumed.ended()); ++i) std::this_thread::sleep_for(50ms);
  CHECK(stream.ended());
  CHECK(resumed.ended());
}

TEST_CASE("CountUpdate on adclick.live.<ad> and adclick.live.campaign.<id>, coalesced", "[e2e][live]") {
  running r{service::options{{"--live.nats=true"}, false, false}};  // otherwise the defaults: 250 ms
  auto& [nats, dir, svc] = r;
  auto nc = nats_connection::connect(nats.url(), "live-nats-test");
  REQUIRE(nc);
  auto ads = (*nc)->subscribe("adclick.live.45");
  auto campaign = (*nc)->subscribe("adclick.live.campaign.5");
  REQUIRE(ads);
  REQUIRE(campaign);
  const auto base = minute_of(now_ms());
  // 200 clicks in a burst: far fewer updates than clicks (at most one per 250 ms).
  for (std::uint64_t i = 0; i < 200; ++i) publish_click(**nc, 45, base + 10 + static_cast<std::int64_t>(i), 1000 + i);
  std::uint64_t last = 0, updates = 0;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (last < 200 && std::chrono::steady_clock::now() < until) {
    auto m = (*ads)->next(500);
    if (!m) continue;
    v1::CountUpdate u;
    REQUIRE(u.ParseFromString(m->data));
    CHECK(u.ad_id() == 45);
    CHECK(u.bucket_start_ms() == base);
    CHECK(u.count() >= last);  // absolute, never going back
    last = u.count();
    ++updates;
  }
  CHECK(last == 200);
  CHECK(updates < 100);
  bool campaign_seen = false;
  for (int i = 0; i < 40 && !campaign_seen; ++i) {
    auto m = (*campaign)->next(500);
    if (!m) continue;
    v1::CountUpdate u;
    REQUIRE(u.ParseFromString(m->data));
    CHECK(u.kind() == v1::CAMPAIGN);
    CHECK(u.id() == 5);
    campaign_seen = u.count() == 200;
  }
  CHECK(campaign_seen);
  CHECK(svc.stop(SIGTERM) == 0);
}

TEST_CASE("a campaign minute closed by another partition's watermark is sent again as final", "[e2e][live]") {
  // Pinned windows: a partition's watermark moves only with its own clicks.
  running r{service::options{{"--windows.allowed-lateness=1min"}, true, false}};
  auto& [nats, dir, svc] = r;
  auto nc = nats_connection::connect(nats.url(), "live-test");
  REQUIRE(nc);
  const std::int64_t base = t0, later = t0 + 5 * minute_ms;
  sse_client stream{svc.http(), "/v1/stream?campaigns=3"};
  std::this_thread::sleep_for(300ms);
  publish_click(**nc, 21, base + 1000, 1);  // ad 21: partition 5, campaign 3
  REQUIRE(stream.wait_for([&](const json& e) { return e["id"] == 3 && e["bucket_start_ms"] == base && e["count"] == 1; },
                          10s));
  // Every partition's watermark passes the minute but partition 7's: still open.
  publish_click(**nc, 21, later, 2);
  std::uint64_t id = 100;
  for (std::uint64_t p = 0; p < 16; ++p)
    if (p != 5 && p != 7) publish_click(**nc, 160 + p, later, ++id);  // campaigns 17 and up
  std::this_thread::sleep_for(3s);  // checkpointed (200 ms) and sent
  const auto before = stream.count();
  CHECK_FALSE(stream.wait_for([&](const json& e) { return e["id"] == 3 && e["bucket_start_ms"] == base && e["state"] != "open"; },
                              0ms));
  // Partition 7 passes it too, with a click of another campaign: campaign 3's minute is
  // now final, although no share of it changed.
  publish_click(**nc, 167, later, ++id);
  auto closed = stream.wait_for(
    [&](const json& e) { return e["kind"] == "campaign" && e["id"] == 3 && e["bucket_start_ms"] == base; }, 10s, before);
  REQUIRE(closed);
  const auto data = json::parse(closed->event.data);
  CHECK(data["state"] == "final");
  CHECK(data["count"] == 1);
  CHECK(data["version"] == 1);
  CHECK(svc.stop(SIGTERM) == 0);
}
