#include "click_grouping.hpp"

namespace adclick {

std::uint64_t group_by_ad(const ingest_batch& batch, std::uint64_t dispatched_seq,
                          grouped_batch& out) {
  out.by_ad.clear();
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
    for (std::uint32_t i = 0; i < msg.click_count; ++i) {
      const click& c = batch.clicks[msg.first_click + i];
      out.by_ad[c.ad_id].push_back(c);
    }
    out.clicks += msg.click_count;
  }
  return dispatched_seq;
}

}  // namespace adclick
