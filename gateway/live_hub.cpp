#include "gateway/live_hub.hpp"

#include <algorithm>
#include <set>

#include <caf/all.hpp>

#include "actors/core/rollup.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "gateway/live_fanout.hpp"
#include "messages/click_codec.hpp"
#include "messages/type_ids.hpp"
#include "persistence/store.hpp"

namespace adclick {

caf::behavior live_hub(caf::stateful_actor<live_hub_state>* self, live_hub_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [=](const live_update& u) {
      auto& st = self->state;
      for (const auto& p : u.minutes) {
        if (st.cfg.publish) {
          st.cfg.publish(st.cfg.names.live_of(u.id), encode_count_update(entity::ad, u.id, p));
          ++st.published;
        }
        st.cfg.fanout->deliver(entity::ad, u.id, p);
      }
    },
    [=](const live_touches& t) {
      auto& st = self->state;
      st.final_before[t.partition] = t.final_before_ms;
      // Until every owned partition has reported, nothing is final.
      std::int64_t final_before = INT64_MIN;
      if (st.final_before.size() >= st.cfg.partitions) {
        final_before = INT64_MAX;
        for (const auto& [p, fb] : st.final_before) final_before = std::min(final_before, fb);
      }
      std::set<std::tuple<entity, std::uint64_t, std::int64_t>> done;
      for (const auto& m : t.minutes) {
        if (!done.insert({m.kind, m.id, m.start_ms}).second) continue;
        if (!st.cfg.publish && !st.cfg.fanout->watching(m.kind, m.id)) continue;
        rollup_value sum;
        if (auto err = st.cfg.db->scan_group(m.kind, m.id, granularity::minute, m.start_ms, m.start_ms + minute_ms,
                                             [&](std::int64_t, std::uint32_t, const rollup_value& v) { sum += v; })) {
          log_warn("live_group_read_failed").kv("error", describe(err));
          continue;
        }
        const auto p = point_of(m.start_ms, minute_ms, sum, final_before);
        if (st.cfg.publish) {
          st.cfg.publish(st.cfg.names.live_of_group(m.kind == entity::campaign, m.id),
                         encode_count_update(m.kind, m.id, p));
          ++st.published;
        }
        st.cfg.fanout->deliver(m.kind, m.id, p);
      }
    },
  };
}

}  // namespace adclick
