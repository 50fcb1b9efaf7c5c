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
      // Reads a group's minute back (the sum of every partition's share) and sends it.
      auto send = [&](entity kind, std::uint64_t id, std::int64_t start) {
        rollup_value sum;
        if (auto err = st.cfg.db->scan_group(kind, id, granularity::minute, start, start + minute_ms,
                                             [&](std::int64_t, std::uint32_t, const rollup_value& v) { sum += v; })) {
          log_warn("live", "live_group_read_failed").kv("error", describe(err));
          return;
        }
        const auto p = point_of(start, minute_ms, sum, final_before);
        if (st.cfg.publish) {
          st.cfg.publish(st.cfg.names.live_of_group(kind == entity::campaign, id), encode_count_update(kind, id, p));
          ++st.published;
        }
        st.cfg.fanout->deliver(kind, id, p);
        if (p.state == bucket_state::open) st.sent_open.insert({start, kind, id});
        else st.sent_open.erase({start, kind, id});
      };
      std::set<std::tuple<entity, std::uint64_t, std::int64_t>> done;
      for (const auto& m : t.minutes) {
        if (!done.insert({m.kind, m.id, m.start_ms}).second) continue;
        if (!st.cfg.publish && !st.cfg.fanout->watching(m.kind, m.id)) continue;
        send(m.kind, m.id, m.start_ms);
      }
      // Minutes sent while open that the lowest final_before has now passed: another
      // partition's watermark can close a minute without any share of it changing, so no
      // touch would ever say so. Each is sent again (final, or still open until its last
      // open ad minute closes, which touches it).
      while (!st.sent_open.empty() && std::get<0>(*st.sent_open.begin()) + minute_ms <= final_before) {
        const auto [start, kind, id] = *st.sent_open.begin();
        st.sent_open.erase(st.sent_open.begin());
        if (done.count({kind, id, start}) != 0) continue;
        if (!st.cfg.publish && !st.cfg.fanout->watching(kind, id)) continue;
        send(kind, id, start);
        st.sent_open.erase({start, kind, id});  // a still-open minute comes back with its touch
      }
    },
  };
}

}  // namespace adclick
