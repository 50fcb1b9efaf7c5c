// A model of the dedup memory at steady state, in one process and in seconds: the
// recent-id sets of many ads driven the way ad actors drive them (bench_steady's workload
// without NATS, LevelDB or CAF), so that a change to recent_ids can be judged before the
// 8-minute steady benchmark, which stays the measure of record.
//
// Each simulated second: `rate` clicks over `ads` ads (Zipf), random or sequenced ids,
// event time at the simulated clock; then a checkpoint: every ad that got a click or
// holds a minute that just became final drops its settled minutes, rotates its
// generations every `recent-window` seconds, and hands its new ids over. Minutes become
// final `lateness` + 5 s after their end. After the hot horizon is full it prints one
// JSON object: the heap in use (glibc's count, malloc overhead included) and
// recent_ids' own count by part, both per click of the open minutes (the steady
// benchmark's hot_bytes_per_id).
//
//   bench_dedup_model [--ads N] [--rate N] [--seconds N] [--lateness S] [--recent-window S]
//                     [--zipf X] [--id-layout random|sequenced] [--minters N] [--settle 0|1]
// (--settle 1: every ad also flushes the second after a finalization, so final minutes
// leave memory at once instead of at the ad's next click: worth 0.08 bytes per click.
// --id-layout sequenced: ids of 8 bytes of minter and 8 of a sequence each minter counts
// per ad (--sequence per-ad), or one sequence per minter for all its ads (--sequence
// per-minter). recent_ids keeps those as runs (actors/core/id_runs); the model also counts
// the runs of consecutive sequences they make per (ad, minute, minter): `runs`, and
// clicks per run.)
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "actors/core/recent_ids.hpp"

namespace {

struct options {
  std::uint64_t ads = 100000;
  std::uint64_t rate = 150000;
  std::int64_t seconds = 330;
  std::int64_t lateness_s = 120;
  std::int64_t recent_window_s = 1;  // adclickd's recent_window
  double zipf = 1.1;
  bool sequenced = false;
  bool per_minter_sequence = false;
  std::uint64_t minters = 16;
  bool settle = false;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--ads") o.ads = std::strtoull(v, nullptr, 10);
    else if (k == "--rate") o.rate = std::strtoull(v, nullptr, 10);
    else if (k == "--seconds") o.seconds = std::strtoll(v, nullptr, 10);
    else if (k == "--lateness") o.lateness_s = std::strtoll(v, nullptr, 10);
    else if (k == "--recent-window") o.recent_window_s = std::strtoll(v, nullptr, 10);
    else if (k == "--zipf") o.zipf = std::strtod(v, nullptr);
    else if (k == "--id-layout") o.sequenced = std::string{v} == "sequenced";
    else if (k == "--settle") o.settle = std::string{v} == "1";
    else if (k == "--sequence") o.per_minter_sequence = std::string{v} == "per-minter";
    else if (k == "--minters") o.minters = std::strtoull(v, nullptr, 10);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return o;
}

struct ad {
  adclick::recent_ids ids;
  std::int64_t last_rotate_s = 0;
  bool dirty = false;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace adclick;
  const auto o = parse(argc, argv);
  std::mt19937_64 rng{1};
  std::vector<double> cdf(o.ads);
  double sum = 0;
  for (std::uint64_t k = 0; k < o.ads; ++k) cdf[k] = sum += 1.0 / std::pow(static_cast<double>(k + 1), o.zipf);
  for (auto& c : cdf) c /= sum;
  std::vector<ad> ads(o.ads);
  // Sequenced ids: each minter numbers its clicks per ad (README, "click ids").
  std::vector<std::uint64_t> next_seq(o.sequenced ? (o.per_minter_sequence ? o.minters : o.ads * o.minters) : 0);
  // Per (ad, minter): the minute and sequence of its last id, to count runs.
  std::vector<std::pair<std::int64_t, std::uint64_t>> last_of(o.sequenced ? o.ads * o.minters : 0, {-1, 0});
  std::uint64_t runs = 0, sequenced_clicks = 0;

  // In use: chunks of the heap plus those glibc maps on their own (large ones, such as
  // the filters of hot minutes).
  auto heap_in_use = [] {
    const auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const std::size_t heap_before = heap_in_use();
  std::vector<std::int64_t> clicks_in_minute;  // by minute index
  std::int64_t dropped_before = 0;             // minutes below this index have left memory
  double sum_heap = 0, sum_model = 0, sum_clicks = 0;
  recent_ids::memory_use parts;
  std::size_t samples = 0, ids_in_memory = 0;
  const std::int64_t final_after_s = 60 + o.lateness_s + 5;
  const std::int64_t steady_from = final_after_s + 60;
  for (std::int64_t t = 0; t < o.seconds; ++t) {
    const std::int64_t minute = t / 60;
    if (clicks_in_minute.size() <= static_cast<std::size_t>(minute)) clicks_in_minute.resize(minute + 1);
    std::uniform_real_distribution<double> u{0.0, 1.0};
    for (std::uint64_t i = 0; i < o.rate; ++i) {
      const auto k = static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      auto& a = ads[std::min<std::size_t>(k, o.ads - 1)];
      click_id id;
      if (o.sequenced) {
        const std::uint64_t minter = rng() % o.minters;
        const std::uint64_t seq = next_seq[o.per_minter_sequence ? minter : k * o.minters + minter]++;
        auto& last = last_of[k * o.minters + minter];
        if (last.first != minute || seq != last.second + 1) ++runs;  // a new run starts
        last = {minute, seq};
        ++sequenced_clicks;
        for (int b = 0; b < 8; ++b) id[b] = static_cast<std::uint8_t>((minter + 1) >> (56 - 8 * b));
        for (int b = 0; b < 8; ++b) id[8 + b] = static_cast<std::uint8_t>(seq >> (56 - 8 * b));
      } else {
        const std::uint64_t x = rng(), y = rng();
        std::memcpy(id.data(), &x, 8);
        std::memcpy(id.data() + 8, &y, 8);
      }
      if (a.ids.insert(minute * 60'000, id) == recent_ids::insert_result::need_lookup)
        a.ids.resolve(minute * 60'000, id, false);  // (the store would say: not there)
      a.dirty = true;
      ++clicks_in_minute[minute];
    }
    // The checkpoint at the end of second t. A minute is final once t passes its end plus
    // the lateness; the flush after that drops it (it was durable by then).
    const bool finalizing = t >= final_after_s && (t - final_after_s) % 60 == 0;
    const bool settling = t >= final_after_s + 1 && (t - final_after_s) % 60 == 1;
    std::vector<std::int64_t> settled;
    for (std::int64_t m = dropped_before; (m + 1) * 60 + o.lateness_s + 5 <= t - 1; ++m) settled.push_back(m * 60'000);
    for (auto& a : ads) {
      if (!a.dirty && !finalizing && !(settling && o.settle)) continue;
      a.ids.drop(settled);
      if (t - a.last_rotate_s >= o.recent_window_s) {
        a.ids.rotate();
        a.last_rotate_s = t;
      }
      a.ids.take_changes();
      a.dirty = false;
    }
    if (!settled.empty() && (finalizing || (settling && o.settle))) dropped_before = settled.back() / 60'000 + 1;
    if (t >= steady_from) {
      // The clicks of open minutes, as the service's open_clicks (a final minute still
      // in memory is charged to them, as in hot_bytes_per_id).
      std::int64_t open = 0;
      for (auto m = minute; m >= 0 && (m + 1) * 60 + o.lateness_s + 5 > t; --m) open += clicks_in_minute[m];
      recent_ids::memory_use p;
      std::size_t n = 0;
      for (const auto& a : ads) {
        const auto q = a.ids.memory();
        p.records += q.records;
        p.generations += q.generations;
        p.filters += q.filters;
        p.runs += q.runs;
        p.untaken += q.untaken;
        n += a.ids.ids_in_memory();
      }
      sum_heap += static_cast<double>(heap_in_use() - heap_before);
      sum_model += static_cast<double>(p.total());
      sum_clicks += static_cast<double>(open);
      parts.records += p.records;
      parts.generations += p.generations;
      parts.filters += p.filters;
      parts.runs += p.runs;
      parts.untaken += p.untaken;
      ids_in_memory += n;
      ++samples;
    }
  }
  if (o.sequenced)
    std::printf("{\"sequence\":\"%s\",\"minters\":%llu,\"runs\":%llu,\"clicks_per_run\":%.2f}\n",
                o.per_minter_sequence ? "per-minter" : "per-ad", static_cast<unsigned long long>(o.minters),
                static_cast<unsigned long long>(runs),
                static_cast<double>(sequenced_clicks) / static_cast<double>(std::max<std::uint64_t>(runs, 1)));
  if (samples == 0) {
    std::fprintf(stderr, "too short: the hot horizon fills after %lld s\n", static_cast<long long>(steady_from));
    return 1;
  }
  auto per_click = [&](double bytes) { return bytes / sum_clicks; };
  std::printf(
    "{\"ads\":%llu,\"rate\":%llu,\"lateness_s\":%lld,\"recent_window_s\":%lld,\"id_layout\":\"%s\","
    "\"open_clicks\":%.0f,\"ids_in_memory\":%.0f,\"heap_bytes_per_click\":%.2f,\"counted_bytes_per_click\":%.2f,"
    "\"records\":%.2f,\"generations\":%.2f,\"filters\":%.2f,\"runs\":%.2f,\"untaken\":%.2f}\n",
    static_cast<unsigned long long>(o.ads), static_cast<unsigned long long>(o.rate),
    static_cast<long long>(o.lateness_s), static_cast<long long>(o.recent_window_s), o.sequenced ? "sequenced" : "random",
    sum_clicks / static_cast<double>(samples), static_cast<double>(ids_in_memory) / static_cast<double>(samples),
    per_click(sum_heap), per_click(sum_model), per_click(static_cast<double>(parts.records)),
    per_click(static_cast<double>(parts.generations)), per_click(static_cast<double>(parts.filters)),
    per_click(static_cast<double>(parts.runs)), per_click(static_cast<double>(parts.untaken)));
}
