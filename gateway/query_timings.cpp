#include "gateway/query_timings.hpp"

namespace adclick {

const std::vector<std::string>& query_timings::endpoints() {
  static const std::vector<std::string> e{"ad", "campaign", "advertiser", "top", "admin", "nats_query"};
  return e;
}

const std::vector<double>& query_timings::bounds() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  static_assert(14 + 1 <= max_buckets);
  return b;
}

query_timings::query_timings() : by_endpoint_(endpoints().size()) {}

void query_timings::observe(std::string_view endpoint, double seconds) {
  const auto& names = endpoints();
  for (std::size_t e = 0; e < names.size(); ++e) {
    if (names[e] != endpoint) continue;
    auto& h = by_endpoint_[e];
    const auto& b = bounds();
    std::size_t i = 0;
    while (i < b.size() && seconds > b[i]) ++i;
    h.counts[i].fetch_add(1, std::memory_order_relaxed);
    h.sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
    return;
  }
}

std::vector<std::pair<std::string, histogram_counts>> query_timings::snapshot() const {
  std::vector<std::pair<std::string, histogram_counts>> out;
  const auto n = bounds().size() + 1;
  for (std::size_t e = 0; e < by_endpoint_.size(); ++e) {
    histogram_counts c;
    const auto& h = by_endpoint_[e];
    for (std::size_t i = 0; i < n; ++i) c.counts.push_back(h.counts[i].load(std::memory_order_relaxed));
    // The total is the sum of the buckets read, so that the histogram stays consistent
    // while requests are being added.
    for (auto x : c.counts) c.total += x;
    c.sum = static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9;
    out.emplace_back(endpoints()[e], std::move(c));
  }
  return out;
}

}  // namespace adclick
