// How long queries take, by endpoint: fixed-bucket histograms that the door threads add to
// concurrently (relaxed atomics, no lock) and /metrics reads as
// adclick_query_duration_seconds. The endpoints are a fixed set, so that no label value
// comes from a request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

class query_timings {
 public:
  /// ad, campaign, advertiser, top (HTTP), admin (HTTP and NATS), nats_query (NATS).
  static const std::vector<std::string>& endpoints();
  /// Seconds: the histogram's upper bounds.
  static const std::vector<double>& bounds();

  query_timings();
  /// Adds one request of `endpoint` (one of endpoints(); others are ignored).
  void observe(std::string_view endpoint, double seconds);
  /// Every endpoint's histogram, in endpoints() order.
  std::vector<std::pair<std::string, histogram_counts>> snapshot() const;

 private:
  static constexpr std::size_t max_buckets = 16;
  struct histogram {
    std::array<std::atomic<std::uint64_t>, max_buckets> counts{};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  std::vector<histogram> by_endpoint_;
};

}  // namespace adclick
