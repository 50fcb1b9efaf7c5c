#include "tools/truth_model.hpp"

#include <algorithm>

#include "messages/click_codec.hpp"
#include "common/time.hpp"

namespace adclick {

truth_model::truth_model(const window_rules& rules, std::uint32_t partitions)
  : clocks_(partitions, event_clock{rules}) {}

void truth_model::message(std::uint32_t partition, const std::vector<click>& clicks, std::int64_t wall_ms) {
  auto& clock = clocks_[partition];
  std::int64_t newest = event_clock::no_watermark;
  for (const auto& c : clicks) {
    ++truth_.clicks;
    if (partition_of(c.ad_id, static_cast<std::uint32_t>(clocks_.size())) != partition) {
      truth_.outcomes[outcome::rejected_wrong_partition] += 1;
      continue;
    }
    const auto a = clock.classify(c.event_time_ms, wall_ms);
    if (a == arrival::future) {
      truth_.outcomes[outcome::rejected_future] += 1;
      continue;
    }
    if (a == arrival::too_old) {
      truth_.outcomes[outcome::rejected_too_old] += 1;
      continue;
    }
    newest = std::max(newest, c.event_time_ms);
    if (!accepted_.insert(c.id)) {
      truth_.outcomes[outcome::duplicate] += 1;
      continue;
    }
    auto& b = truth_.counts[{c.ad_id, minute_of(c.event_time_ms)}];
    b.count += 1;
    if (a == arrival::late) {
      b.amendments += 1;
      truth_.outcomes[outcome::late_amended] += 1;
    } else {
      truth_.outcomes[outcome::counted] += 1;
    }
  }
  if (newest != event_clock::no_watermark) clock.observe(newest);
}

void truth_model::garbage() {
  ++truth_.clicks;
  truth_.outcomes[outcome::rejected_malformed] += 1;
}

void truth_model::finish() {
  for (auto& [key, b] : truth_.counts) {
    const auto& clock = clocks_[partition_of(key.first, static_cast<std::uint32_t>(clocks_.size()))];
    b.final = key.second < clock.final_before();
  }
}

}  // namespace adclick
