#include "actors/core/click_grouping.hpp"

#include <algorithm>

#include "messages/click_codec.hpp"

namespace adclick {

std::uint64_t group_by_ad(const ingest_batch& batch, std::uint64_t dispatched_seq, event_clock& clock,
                          std::uint32_t partitions, grouped_batch& out) {
  out.by_ad.clear();
  out.rejections.clear();
  out.rejected = {};
  out.clicks = 0;
  out.skipped_messages = 0;
  out.new_messages = 0;
  out.markers = 0;
  out.last_seq = 0;
  for (const auto& msg : batch.messages) {
    out.last_seq = std::max(out.last_seq, msg.stream_seq);
    if (msg.stream_seq <= dispatched_seq) {
      ++out.skipped_messages;
      continue;
    }
    dispatched_seq = msg.stream_seq;
    ++out.new_messages;
    if (msg.idle_advance_ms > 0) {
      // Idle means caught up (DESIGN 4.1): the marker's writer had read everything before
      // it, and if the stream was quiet for idle_advance before it, event time may move
      // on with the broker's clock.
      ++out.markers;
      clock.idle_marker(msg.publish_ms, msg.idle_advance_ms);
      continue;
    }
    clock.published(msg.publish_ms);
    out.rejected += msg.rejected;
    std::uint32_t ordinal = 0;
    for (std::uint32_t i = 0; i < msg.reject_count; ++i) {
      const auto& r = batch.rejects[msg.first_reject + i];
      out.rejections.push_back({msg.stream_seq, ordinal++, r.reason, r.bytes});
    }
    auto reject = [&](const click& c, outcome reason) {
      out.rejected[reason] += 1;
      out.rejections.push_back({msg.stream_seq, ordinal++, reason, encode_click_batch(&c, 1)});
    };
    std::int64_t newest = event_clock::no_watermark;
    for (std::uint32_t i = 0; i < msg.click_count; ++i) {
      const click& c = batch.clicks[msg.first_click + i];
      if (partition_of(c.ad_id, partitions) != batch.partition) {
        reject(c, outcome::rejected_wrong_partition);
        continue;
      }
      switch (clock.classify(c.event_time_ms, msg.publish_ms)) {
        case arrival::future: reject(c, outcome::rejected_future); continue;
        case arrival::too_old: reject(c, outcome::rejected_too_old); continue;
        case arrival::late:
          out.by_ad[c.ad_id].push_back(c);
          out.by_ad[c.ad_id].back().late = true;
          break;
        case arrival::on_time: out.by_ad[c.ad_id].push_back(c); break;
      }
      newest = std::max(newest, c.event_time_ms);
      ++out.clicks;
    }
    if (newest != event_clock::no_watermark) clock.observe(newest);
  }
  return dispatched_seq;
}

}  // namespace adclick
