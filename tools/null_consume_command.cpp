// The benchmark's null consumer: the same fetch, decode and ack path as adclickd's ingress,
// with nothing behind it. Its rate is the raw limit that end-to-end numbers are read against.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "messages/click_codec.hpp"
#include "common/errc.hpp"
#include "tools/commands.hpp"
#include "gateway/nats/nats_client.hpp"

namespace adclick {

int run_null_consume(const null_consume_options& opts) {
  auto nc = nats_connection::connect(opts.nats, "adclick-null-consumer");
  if (!nc) {
    std::fprintf(stderr, "null-consume: %s\n", describe(nc.error()).c_str());
    return 1;
  }
  std::atomic<std::uint64_t> messages{0}, clicks{0};
  std::atomic<bool> failed{false};
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::duration<double>(opts.timeout_s);
  std::vector<std::thread> threads;
  for (std::uint32_t p = 0; p < opts.partitions; ++p) {
    threads.emplace_back([&, p] {
      consumer_spec spec;
      spec.stream = subjects::clicks_stream;
      spec.durable = "bench-null-p" + std::to_string(p);
      spec.filter_subject = subjects{opts.prefix}.clicks(p);
      auto sub = (*nc)->pull_subscribe(spec);
      if (!sub) {
        std::fprintf(stderr, "null-consume: %s\n", describe(sub.error()).c_str());
        failed = true;
        return;
      }
      std::vector<click> decoded;
      std::string last_reply;
      while (messages.load() < opts.messages && std::chrono::steady_clock::now() < deadline) {
        std::uint64_t n_clicks = 0;
        auto got = (*sub)->fetch(opts.fetch_batch, opts.fetch_max_bytes, 100, [&](const pull_subscription::message& m) {
          decoded.clear();
          outcome_counters rejected;
          n_clicks += decode_click_batch(m.data.data(), m.data.size(), decoded, rejected);
          last_reply.assign(m.reply);
        });
        if (!got || *got == 0) continue;
        (*sub)->ack(last_reply);
        messages += *got;
        clicks += n_clicks;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (failed || messages.load() < opts.messages) {
    std::fprintf(stderr, "null-consume: got %llu of %llu messages\n",
                 static_cast<unsigned long long>(messages.load()), static_cast<unsigned long long>(opts.messages));
    return 1;
  }
  std::printf("{\"messages\":%llu,\"clicks\":%llu,\"seconds\":%.3f,\"clicks_per_s\":%.0f}\n",
              static_cast<unsigned long long>(messages.load()), static_cast<unsigned long long>(clicks.load()), secs,
              clicks.load() / std::max(secs, 1e-9));
  return 0;
}

}  // namespace adclick
