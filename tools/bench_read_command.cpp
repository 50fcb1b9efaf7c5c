// `adclick bench-read`: the read side's latencies for scripts/bench.sh.
//   queries: p50/p99 of one ad over 24 h at minute granularity, one ad over 90 days at day
//            granularity, and the top-100 ads over 1 h and over 30 days (each request
//            sequential on one kept-alive connection, after a warm-up).
//   live:    click-to-live-update latency: a probe click of a watched ad every
//            `probe_interval_ms`, published with its event time at the wall clock, and the
//            SSE event that first shows it; the latency is from the publish call to that
//            event. Run it while a load is publishing (bench.sh: half the measured maximum).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/errc.hpp"
#include "common/time.hpp"
#include "gateway/nats/nats_client.hpp"
#include "messages/click_codec.hpp"
#include "messages/subjects.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/sse_reader.hpp"

namespace adclick {

namespace {

using clock_type = std::chrono::steady_clock;

nlohmann::json percentiles(std::vector<double> ms) {
  if (ms.empty()) return {{"n", 0}};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
  return {{"n", ms.size()}, {"p50_ms", at(0.50)}, {"p99_ms", at(0.99)}, {"max_ms", ms.back()}};
}

nlohmann::json time_queries(http_client& http, const std::string& path, int iterations, bool& failed) {
  std::vector<double> ms;
  for (int i = -iterations / 10; i < iterations; ++i) {  // a tenth as warm-up
    const auto start = clock_type::now();
    auto res = http.get(path);
    const auto took = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
    if (res.status != 200) {
      std::fprintf(stderr, "bench-read: %s -> %d %s\n", path.c_str(), res.status, res.body.c_str());
      failed = true;
      return {};
    }
    if (i >= 0) ms.push_back(took);
  }
  auto out = percentiles(ms);
  out["path"] = path;
  return out;
}

}  // namespace

int run_bench_read(const bench_read_options& opts) {
  nlohmann::json result;
  bool failed = false;
  if (opts.queries) {
    http_client http{opts.http};
    const auto now = now_ms();
    const auto ad = std::to_string(opts.ad);
    result["one_ad_24h_minute"] = time_queries(
      http, "/v1/ads/" + ad + "/clicks?granularity=minute&from=" + std::to_string(now - day_ms) + "&to=" + std::to_string(now),
      opts.iterations, failed);
    result["one_ad_90d_day"] = time_queries(
      http, "/v1/ads/" + ad + "/clicks?granularity=day&from=" + std::to_string(now - 90 * day_ms) + "&to=" + std::to_string(now),
      opts.iterations, failed);
    result["top100_1h"] = time_queries(
      http, "/v1/top?k=100&by=ad&from=" + std::to_string(now - hour_ms) + "&to=" + std::to_string(now), opts.iterations, failed);
    result["top100_30d"] = time_queries(
      http, "/v1/top?k=100&by=ad&from=" + std::to_string(now - 30 * day_ms) + "&to=" + std::to_string(now),
      opts.iterations, failed);
  }
  if (opts.probes > 0) {
    auto nc = nats_connection::connect(opts.nats, "adclick-bench-read");
    if (!nc) {
      std::fprintf(stderr, "bench-read: %s\n", describe(nc.error()).c_str());
      return 1;
    }
    auto pub = (*nc)->make_publisher();
    if (!pub) {
      std::fprintf(stderr, "bench-read: %s\n", describe(pub.error()).c_str());
      return 1;
    }
    std::mutex mutex;
    std::map<std::uint64_t, clock_type::time_point> sent;  // probe number (its count) -> publish time
    std::vector<double> latencies;
    std::uint64_t seen_count = 0;  // probes visible: the sum of the probe ad's minutes
    std::map<std::int64_t, std::uint64_t> minutes;  // the probe ad's count per minute
    std::atomic<bool> stop{false};
    std::thread reader{[&] {
      http_client http{opts.http};
      sse_reader sse;
      http.stream("/v1/stream?ads=" + std::to_string(opts.probe_ad), "", [&](const std::string& chunk) {
        const auto at = clock_type::now();
        for (const auto& e : sse.feed(chunk)) {
          auto j = nlohmann::json::parse(e.data, nullptr, false);
          if (j.is_discarded() || e.event != "count") continue;
          std::lock_guard<std::mutex> lock{mutex};
          // Counts are per minute: 20 s of probes may cross a minute boundary.
          auto& m = minutes[j["bucket_start_ms"].get<std::int64_t>()];
          m = std::max(m, j["count"].get<std::uint64_t>());
          std::uint64_t count = 0;
          for (const auto& [start, n] : minutes) count += n;
          // Every probe up to this count is now visible: the first event that shows a
          // probe measures it.
          for (auto n = seen_count + 1; n <= count; ++n)
            if (auto it = sent.find(n); it != sent.end())
              latencies.push_back(std::chrono::duration<double, std::milli>(at - it->second).count());
          seen_count = std::max(seen_count, count);
        }
        return !stop.load();
      });
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the stream is open
    const subjects names{opts.prefix};
    for (std::uint64_t n = 1; n <= opts.probes; ++n) {
      click c;
      c.ad_id = opts.probe_ad;
      c.event_time_ms = now_ms();
      c.id[0] = 0xbe;
      for (int i = 0; i < 8; ++i) c.id[8 + i] = static_cast<std::uint8_t>((n + opts.seed * 1'000'000) >> (8 * i));
      {
        std::lock_guard<std::mutex> lock{mutex};
        sent[n] = clock_type::now();
      }
      if (auto err = (*pub)->publish(names.clicks(partition_of(opts.probe_ad, opts.partitions)), encode_click_batch(&c, 1),
                                     "probe-" + std::to_string(opts.seed) + "-" + std::to_string(n))) {
        std::fprintf(stderr, "bench-read: publish: %s\n", describe(err).c_str());
        failed = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(opts.probe_interval_ms));
    }
    // The last probes' events.
    const auto until = clock_type::now() + std::chrono::seconds(10);
    while (clock_type::now() < until) {
      {
        std::lock_guard<std::mutex> lock{mutex};
        if (seen_count >= opts.probes) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop = true;
    reader.detach();  // it ends at its next chunk (a heartbeat at the latest)
    std::lock_guard<std::mutex> lock{mutex};
    result["click_to_live"] = percentiles(latencies);
    result["click_to_live"]["probes"] = opts.probes;
    if (seen_count < opts.probes) failed = true;
  }
  std::printf("%s\n", result.dump().c_str());
  return failed ? 1 : 0;
}

}  // namespace adclick
