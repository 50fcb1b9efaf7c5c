// /metrics: the Prometheus text exposition of adclickd. This file's .cpp is the only one
// that includes prometheus-cpp; it builds the metric families from what the admin status
// already gathers and serializes them with prometheus-cpp's TextSerializer (no registry,
// no second HTTP server: the families are made fresh for each scrape from the counters the
// service keeps anyway, so nothing is counted twice and nothing can drift).
//
// Names follow Prometheus conventions: prefix adclick_, counters end in _total, durations
// in _seconds; labels are partition, outcome and reason, endpoint, actor, never an ad.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "adclick/v1/admin.pb.h"
#include "messages/types.hpp"

namespace adclick {

struct metrics_input {
  v1::StatusReply status;                        ///< the admin status (lags, counters, readiness)
  std::vector<partition_status> partitions;      ///< checkpoint duration histograms
  std::vector<std::pair<std::string, histogram_counts>> queries;  ///< by endpoint (query_timings)
  std::vector<double> query_bounds;
  std::size_t sse_clients = 0;
  std::string version;
};

std::string render_metrics(const metrics_input& in);

}  // namespace adclick
