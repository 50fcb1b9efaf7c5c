#include "actors/core/event_clock.hpp"

#include <algorithm>

#include "common/time.hpp"

namespace adclick {

void event_clock::restore(std::int64_t watermark_ms, std::int64_t last_publish_ms) {
  watermark_ = std::max(watermark_, watermark_ms);
  last_publish_ms_ = std::max(last_publish_ms_, last_publish_ms);
}

void event_clock::published(std::int64_t publish_ms) { last_publish_ms_ = std::max(last_publish_ms_, publish_ms); }

bool event_clock::idle_marker(std::int64_t publish_ms, std::int64_t idle_ms) {
  if (publish_ms - last_publish_ms_ < idle_ms || publish_ms - idle_ms <= watermark_) return false;
  watermark_ = publish_ms - idle_ms;
  return true;
}

arrival event_clock::classify(std::int64_t event_ms, std::int64_t publish_ms) const {
  if (event_ms > publish_ms + rules_.max_future_skew_ms) return arrival::future;
  if (watermark_ != no_watermark && event_ms < watermark_ - rules_.dedup_horizon_ms) return arrival::too_old;
  if (minute_of(event_ms) < final_before()) return arrival::late;
  return arrival::on_time;
}

void event_clock::observe(std::int64_t event_ms) {
  watermark_ = std::max(watermark_, event_ms - rules_.max_out_of_orderness_ms);
}


std::int64_t event_clock::final_before() const {
  if (watermark_ == no_watermark) return no_watermark;
  // m is final iff m + 1 min + lateness <= watermark, i.e. m <= watermark - lateness - 1 min.
  return minute_of(watermark_ - rules_.allowed_lateness_ms - minute_ms) + minute_ms;
}

}  // namespace adclick
