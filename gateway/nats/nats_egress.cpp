#include "gateway/nats/nats_egress.hpp"

#include "messages/click_codec.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "adclick/v1/query.pb.h"
#include "gateway/nats/nats_client.hpp"

namespace adclick {

nats_egress::nats_egress(nats_connection& nc, subjects names) : nc_(nc), names_(std::move(names)) {}

void nats_egress::rejected(const click& c, outcome reason) {
  rejected_bytes(encode_click_batch(&c, 1), reason, 1);
}

void nats_egress::rejected_bytes(std::string_view data, outcome reason, std::uint64_t rejected_count) {
  if (auto err = nc_.publish_with_headers(names_.dlq(), data,
                                          {{"Adclick-Reason", to_string(reason)},
                                           {"Adclick-Rejected", std::to_string(rejected_count)}})) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    log_warn("dlq_publish_failed").kv("error", describe(err));
    return;
  }
  dlq_.fetch_add(1, std::memory_order_relaxed);
}

void nats_egress::finals(std::uint64_t ad_id, const std::vector<minute_count>& buckets) {
  const auto subject = names_.final_of(ad_id);
  v1::FinalCount msg;
  for (const auto& b : buckets) {
    msg.Clear();
    msg.set_ad_id(ad_id);
    msg.set_bucket_start_ms(b.minute_ms);
    msg.set_count(b.count);
    msg.set_version(b.version);
    msg.set_amended(b.state == bucket_state::amended);
    if (auto err = nc_.publish(subject, msg.SerializeAsString())) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    finals_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace adclick
