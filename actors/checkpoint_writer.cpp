#include "actors/checkpoint_writer.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "common/errc.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

store::batch checkpoint_batch(const checkpoint& cp) {
  store::batch b;
  for (const auto& ad : cp.ads) {
    for (const auto& m : ad.minutes) b.put_bucket(cp.partition, ad.ad_id, m);
    // Chunk numbers are the checkpoint's number: unique per partition, whatever the stream
    // (an ad belongs to one partition), and a checkpoint holds one delta per ad with one
    // id list per minute, so no chunk is written twice.
    for (const auto& m : ad.ids) b.put_ids(ad.ad_id, m.minute_ms, m.ids, cp.number);
    for (const auto& r : ad.runs) b.put_runs(ad.ad_id, r);
    for (const auto& f : ad.filters) b.put_filter(ad.ad_id, f);
    for (const auto& r : ad.rollups) b.put_rollup(ad.ad_id, r);
    if (ad.new_owner) b.put_owner(ad.ad_id, ad.campaign_id, ad.advertiser_id);
  }
  for (const auto& g : cp.groups) b.put_group(cp.partition, g);
  for (const auto& r : cp.rankings) b.put_ranking(cp.partition, r);
  for (const auto& m : cp.outbox) b.put_outbox(cp.partition, m);
  keys::position pos;
  pos.stream_seq = cp.stream_seq;
  pos.stream_created_ns = cp.stream_created_ns;
  pos.watermark_ms = cp.watermark_ms;
  pos.last_publish_ms = cp.last_publish_ms;
  pos.next_outbox_seq = cp.next_outbox_seq;
  pos.next_checkpoint = cp.number + 1;
  pos.outcomes = cp.outcomes;
  b.put_position(cp.partition, pos);
  return b;
}

caf::behavior checkpoint_writer(caf::event_based_actor*, store* db, std::function<void()> on_durable) {
  return {
    [=](checkpoint& cp) -> checkpoint_result {
      const auto started = std::chrono::steady_clock::now();
      auto b = checkpoint_batch(cp);
      auto err = db->write(b);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      if (err) return {false, describe(err), ms.count(), std::move(cp)};
      if (on_durable && !cp.outbox.empty()) on_durable();
      return {true, {}, ms.count(), {}};
    },
  };
}

}  // namespace adclick
