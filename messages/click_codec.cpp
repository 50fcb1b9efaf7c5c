#include "messages/click_codec.hpp"

#include <cstring>

#include "adclick/v1/click.pb.h"

namespace adclick {

std::size_t decode_click_batch(const void* data, std::size_t size, std::vector<click>& out,
                               outcome_counters& rejected) {
  // One parser per thread, reused: Clear + parse is about 3x faster than a fresh message
  // (STACK-NOTES, protobuf 3.21).
  thread_local v1::ClickBatch batch;
  batch.Clear();
  if (size > static_cast<std::size_t>(INT32_MAX) ||
      !batch.ParseFromArray(data, static_cast<int>(size))) {
    rejected[outcome::rejected_malformed] += 1;
    return 0;
  }
  if (batch.clicks_size() == 0) {  // an empty message or batch: one arrival, malformed
    rejected[outcome::rejected_malformed] += 1;
    return 0;
  }
  std::size_t appended = 0;
  out.reserve(out.size() + static_cast<std::size_t>(batch.clicks_size()));
  for (const auto& c : batch.clicks()) {
    if (c.click_id().size() != click_id_size) {
      rejected[outcome::rejected_bad_id] += 1;
      continue;
    }
    if (c.event_time_ms() <= 0) {
      rejected[outcome::rejected_malformed] += 1;
      continue;
    }
    click& x = out.emplace_back();
    std::memcpy(x.id.data(), c.click_id().data(), click_id_size);
    x.ad_id = c.ad_id();
    x.campaign_id = c.campaign_id();
    x.advertiser_id = c.advertiser_id();
    x.event_time_ms = c.event_time_ms();
    x.key_id = c.key_id();
    ++appended;
  }
  return appended;
}

std::string encode_click_batch(const click* first, std::size_t count) {
  thread_local v1::ClickBatch batch;
  batch.Clear();
  for (std::size_t i = 0; i < count; ++i) {
    const click& x = first[i];
    auto* c = batch.add_clicks();
    c->set_click_id(x.id.data(), x.id.size());
    c->set_ad_id(x.ad_id);
    c->set_campaign_id(x.campaign_id);
    c->set_advertiser_id(x.advertiser_id);
    c->set_event_time_ms(x.event_time_ms);
    c->set_key_id(x.key_id);
  }
  return batch.SerializeAsString();
}

}  // namespace adclick
