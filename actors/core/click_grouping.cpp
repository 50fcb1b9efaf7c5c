#include "actors/core/click_grouping.hpp"

#include <algorithm>

namespace adclick {

std::uint64_t group_by_ad(const ingest_batch& batch, std::uint64_t dispatched_seq, event_clock& clock,
                          std::int64_t wall_ms, grouped_batch& out) {
  out.by_ad.clear();
  out.rejected_clicks.clear();
  out.rejected = {};
  out.clicks = 0;
  out.skipped_messages = 0;
  out.new_messages = 0;
  out.last_seq = 0;
  for (const auto& msg : batch.messages) {
    out.last_seq = std::max(out.last_seq, msg.stream_seq);
    if (msg.stream_seq <= dispatched_seq) {
      ++out.skipped_messages;
      continue;
    }
    dispatched_seq = msg.stream_seq;
    ++out.new_messages;
    out.rejected += msg.rejected;
    std::int64_t newest = event_clock::no_watermark;
    for (std::uint32_t i = 0; i < msg.click_count; ++i) {
      const click& c = batch.clicks[msg.first_click + i];
      switch (clock.classify(c.event_time_ms, wall_ms)) {
        case arrival::future:
          out.rejected[outcome::rejected_future] += 1;
          out.rejected_clicks.emplace_back(c, outcome::rejected_future);
          continue;
        case arrival::too_old:
          out.rejected[outcome::rejected_too_old] += 1;
          out.rejected_clicks.emplace_back(c, outcome::rejected_too_old);
          continue;
        case arrival::late:
          out.by_ad[c.ad_id].push_back(c);
          out.by_ad[c.ad_id].back().late = true;
          break;
        case arrival::on_time:
          out.by_ad[c.ad_id].push_back(c);
          break;
      }
      newest = std::max(newest, c.event_time_ms);
      ++out.clicks;
    }
    if (newest != event_clock::no_watermark) clock.observe(newest);
  }
  return dispatched_seq;
}

}  // namespace adclick
