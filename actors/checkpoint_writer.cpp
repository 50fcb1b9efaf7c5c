#include "actors/checkpoint_writer.hpp"

#include <caf/all.hpp>

#include "common/errc.hpp"
#include "messages/type_ids.hpp"
#include "actors/egress.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

void publish_finals(egress& out, const checkpoint& cp) {
  std::vector<minute_count> finals;
  for (const auto& ad : cp.ads) {
    finals.clear();
    for (const auto& m : ad.minutes)
      if (m.state != bucket_state::open) finals.push_back(m);
    if (!finals.empty()) out.finals(ad.ad_id, finals);
  }
}

}  // namespace

caf::behavior checkpoint_writer(caf::event_based_actor*, store* db, egress* out) {
  return {
    [=](checkpoint& cp) -> checkpoint_result {
      if (auto err = db->write(cp)) return {false, describe(err), std::move(cp.ads)};
      if (out) publish_finals(*out, cp);
      return {true, {}, {}};
    },
  };
}

}  // namespace adclick
