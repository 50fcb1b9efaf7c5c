#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <thread>

#include "messages/click_codec.hpp"
#include "messages/subjects.hpp"
#include "common/errc.hpp"
#include "common/time.hpp"
#include "tools/click_generator.hpp"
#include "tools/commands.hpp"
#include "gateway/nats/nats_client.hpp"
#include "tools/truth_model.hpp"

namespace adclick {

int run_load(const load_options& opts) {
  using clock = std::chrono::steady_clock;
  auto nc = nats_connection::connect(opts.nats, "adclick-load");
  if (!nc) {
    std::fprintf(stderr, "load: %s\n", describe(nc.error()).c_str());
    return 1;
  }
  // Every publish is retried with the same Nats-Msg-Id until the stream acknowledges it
  // (a broker restart loses what was in flight): JetStream drops the copies it has.
  auto publisher = (*nc)->make_publisher(true, 2000);
  if (!publisher) {
    std::fprintf(stderr, "load: %s\n", describe(publisher.error()).c_str());
    return 1;
  }
  auto& pub = **publisher;
  if (opts.id_layout == "sequenced" && opts.clicks > UINT32_MAX) {
    // (Each (ad, minter) counts in 32 bits: more would repeat an id the truth counts twice.)
    std::fprintf(stderr, "load: --id-layout sequenced publishes at most %u clicks\n", UINT32_MAX);
    return 2;
  }
  generator_options go;
  go.ads = opts.ads;
  go.zipf = opts.zipf;
  go.seed = opts.seed;
  go.start_ms = opts.start_ms != 0 ? opts.start_ms : now_ms() + opts.clock_skew_ms;
  go.event_rate = opts.event_rate;
  go.sequenced = opts.id_layout == "sequenced";
  go.minters = opts.minters;
  click_generator gen{go};

  window_rules rules;
  rules.max_out_of_orderness_ms = opts.ooo_ms;
  rules.allowed_lateness_ms = opts.lateness_ms;
  rules.dedup_horizon_ms = opts.horizon_ms;
  rules.max_future_skew_ms = opts.future_skew_ms;
  truth_model model{rules, opts.partitions};
  model.result().seed = opts.seed;

  // The truth model costs the publisher time; skip it when nothing needs it (a benchmark
  // publishes without --truth and without late clicks, which aim at its watermarks).
  const bool judge = !opts.truth.empty() || opts.late_rate > 0 || opts.wrong_partition_rate > 0;
  std::vector<std::vector<click>> buffers(opts.partitions);
  std::vector<std::uint64_t> batch_no(opts.partitions, 0);
  const std::uint32_t batch = std::max<std::uint32_t>(1, opts.batch);
  // Message ids are unique per run (the wall clock is part of them): a replay of the same
  // clicks must reach adclick, not be dropped by JetStream's duplicate window.
  char run_tag[64];
  std::snprintf(run_tag, sizeof run_tag, "%llx-%llx-%llx", static_cast<unsigned long long>(opts.seed),
                static_cast<unsigned long long>(go.start_ms),
                static_cast<unsigned long long>(std::chrono::system_clock::now().time_since_epoch().count()));
  const subjects names{opts.prefix};
  auto subject = [&](std::uint32_t p) { return names.clicks(p); };
  auto next_id = [&](std::uint32_t p) {
    return std::string{run_tag} + "-" + std::to_string(p) + "-" + std::to_string(batch_no[p]++);
  };

  // adclickd judges "future" against the time the stream stored a message, which is later
  // than the loader's clock when it builds the message. A message with a click within
  // `edge_ms` past the edge (max-future-skew) is judged by its stored time: published
  // alone, settled, and read back. Any other is judged alike whenever it is stored, as long
  // as it is stored within edge_ms of being built.
  constexpr std::int64_t edge_ms = 60'000;
  auto at_edge = [&](const std::vector<click>& buf, std::int64_t built_ms) {
    const auto edge = built_ms + rules.max_future_skew_ms;
    return std::any_of(buf.begin(), buf.end(),
                       [&](const click& c) { return c.event_time_ms > edge && c.event_time_ms <= edge + edge_ms; });
  };
  std::uint64_t refused = 0;  // publishes the stream refused, from settles before the last

  // Publishes partition p's buffer as one message; the truth judges it in the same order.
  auto publish = [&](std::uint32_t p) -> bool {
    auto& buf = buffers[p];
    if (buf.empty()) return true;
    const auto built_ms = now_ms();
    const bool by_stored_time = judge && at_edge(buf, built_ms);
    if (judge && !by_stored_time) model.message(p, buf, built_ms);
    auto bytes = encode_click_batch(buf.data(), buf.size());
    if (opts.publish_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opts.publish_delay_ms));
    const auto id = next_id(p);
    if (auto err = pub.publish(subject(p), bytes, id)) {
      std::fprintf(stderr, "load: %s\n", describe(err).c_str());
      return false;
    }
    if (by_stored_time) {
      auto failed = pub.settle(600'000);
      if (!failed) {
        std::fprintf(stderr, "load: %s\n", describe(failed.error()).c_str());
        return false;
      }
      refused += *failed;
      auto stored_ms = pub.stored_time_ms(subjects::clicks_stream, subject(p), id);
      if (!stored_ms) {
        std::fprintf(stderr, "load: %s\n", describe(stored_ms.error()).c_str());
        return false;
      }
      model.message(p, buf, *stored_ms);
    }
    buf.clear();
    return true;
  };

  // Clicks to repeat for --dup-rate: every click generated so far (so many repeats are
  // minutes of event time after their original), or with --dup-window those of the last N,
  // kept as a ring of at most a million evenly spaced ones.
  std::vector<click> history;
  constexpr std::uint64_t max_ring = 1'000'000;
  const std::uint64_t ring = opts.dup_window == 0 ? 0 : std::min(opts.dup_window, max_ring);
  const std::uint64_t stride = ring == 0 ? 1 : (opts.dup_window + ring - 1) / ring;
  std::uint64_t generated = 0;
  std::mt19937_64 rng{opts.seed ^ 0x9e3779b97f4a7c15ULL};
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  auto chance = [&](double rate) { return rate > 0 && unit(rng) < rate; };

  const auto started = clock::now();
  auto next_progress = started + std::chrono::seconds(1);
  std::uint64_t last_reported = 0;
  for (std::uint64_t i = 0; i < opts.clicks; ++i) {
    if (chance(opts.malformed_rate)) {
      // Bytes that are not a ClickBatch, on some partition's subject.
      const auto p = static_cast<std::uint32_t>(rng() % opts.partitions);
      model.garbage();
      if (auto err = pub.publish(subject(p), std::string(1 + rng() % 64, '\xff'), next_id(p))) {
        std::fprintf(stderr, "load: %s\n", describe(err).c_str());
        return 1;
      }
      continue;
    }
    click c;
    if (!history.empty() && chance(opts.dup_rate)) {
      c = history[rng() % history.size()];
    } else {
      c = gen.next();
      const auto& pclock = model.clock(partition_of(c.ad_id, opts.partitions));
      if (chance(opts.future_rate)) {
        c.event_time_ms = now_ms() + 24 * 3'600'000LL;
      } else if (chance(opts.late_rate) && pclock.watermark() != event_clock::no_watermark) {
        // In a minute that is already final, well inside the dedup horizon.
        c.event_time_ms = pclock.final_before() - minute_ms - static_cast<std::int64_t>(rng() % minute_ms);
      } else if (chance(opts.ooo_rate)) {
        c.event_time_ms -= static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(std::max<std::int64_t>(1, opts.ooo_ms)));
      }
      if (opts.dup_rate > 0 && generated++ % stride == 0) {
        if (ring == 0 || history.size() < ring)
          history.push_back(c);
        else
          history[(generated / stride) % ring] = c;
      }
    }
    auto p = partition_of(c.ad_id, opts.partitions);
    if (opts.partitions > 1 && chance(opts.wrong_partition_rate)) {
      // Published alone on the next partition's subject: rejected there (wrong_partition).
      const auto wrong = (p + 1) % opts.partitions;
      model.message(wrong, {c}, now_ms());
      if (auto err = pub.publish(subject(wrong), encode_click_batch(&c, 1), next_id(wrong))) {
        std::fprintf(stderr, "load: %s\n", describe(err).c_str());
        return 1;
      }
      continue;
    }
    buffers[p].push_back(c);
    if (buffers[p].size() >= batch && !publish(p)) return 1;
    if (opts.rate > 0) {
      auto due = started + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>((i + 1) / opts.rate));
      if (due > clock::now()) std::this_thread::sleep_until(due);
    }
    if ((i & 1023) == 0 && clock::now() >= next_progress) {
      if (!opts.quiet)
        std::fprintf(stderr, "load: %llu/%llu clicks, %llu/s\n", static_cast<unsigned long long>(i),
                     static_cast<unsigned long long>(opts.clicks), static_cast<unsigned long long>(i - last_reported));
      last_reported = i;
      next_progress += std::chrono::seconds(1);
    }
  }
  for (std::uint32_t p = 0; p < opts.partitions; ++p)
    if (!publish(p)) return 1;
  auto failed = pub.settle(600'000);
  if (!failed) {
    std::fprintf(stderr, "load: %s\n", describe(failed.error()).c_str());
    return 1;
  }
  const double secs = std::chrono::duration<double>(clock::now() - started).count();
  refused += *failed;
  if (refused != 0) {
    std::fprintf(stderr, "load: %llu publishes were refused; the truth would be wrong\n",
                 static_cast<unsigned long long>(refused));
    return 1;
  }
  model.finish();
  auto& t = model.result();
  if (opts.replay) {  // everything this run would count was counted by the run it replays
    t.outcomes[outcome::duplicate] += t.outcomes[outcome::counted] + t.outcomes[outcome::late_amended];
    t.outcomes[outcome::counted] = t.outcomes[outcome::late_amended] = 0;
    t.counts.clear();
  }
  if (!opts.truth.empty()) {
    std::string error;
    if (!t.save(opts.truth, error)) {
      std::fprintf(stderr, "load: %s\n", error.c_str());
      return 1;
    }
  }
  if (!opts.quiet) {
    std::fprintf(stderr,
                 "load: published %llu arrivals in %.2f s (%.0f/s, %llu publishes sent again), %zu (ad, minute) buckets; "
                 "expected:",
                 static_cast<unsigned long long>(opts.clicks), secs, opts.clicks / std::max(secs, 1e-9),
                 static_cast<unsigned long long>(pub.resent()), t.counts.size());
    for (std::size_t k = 0; k < outcome_count; ++k)
      if (t.outcomes.by_outcome[k] != 0)
        std::fprintf(stderr, " %s=%llu", to_string(static_cast<outcome>(k)),
                     static_cast<unsigned long long>(t.outcomes.by_outcome[k]));
    std::fprintf(stderr, "\n");
  }
  return 0;
}

}  // namespace adclick
