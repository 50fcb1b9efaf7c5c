#include <caf/all.hpp>

#include "ad_actor.hpp"

#include "adclick/errc.hpp"
#include "adclick/log.hpp"
#include "adclick/time.hpp"
#include "adclick/type_ids.hpp"
#include "store.hpp"

namespace adclick {

caf::behavior ad_actor(caf::stateful_actor<ad_state>* self, std::uint64_t ad_id, store* db) {
  self->state.ad_id = ad_id;
  self->state.db = db;
  return {
    [=](ad_clicks& batch) {
      auto& st = self->state;
      for (const auto& c : batch.clicks) {
        auto minute = minute_of(c.event_time_ms);
        if (!st.counts.has(minute)) {
          auto stored = st.db->read_minute(st.ad_id, minute);
          if (!stored) {
            // Counting on an unknown base would corrupt the count: stop, and let the
            // partition (which monitors us) stop the service rather than ack anything.
            log_error("ad_seed_failed").kv("ad", st.ad_id).kv("error", describe(stored.error()));
            self->quit(stored.error());
            return;
          }
          st.counts.seed(minute, *stored);
        }
        st.counts.add(minute);
      }
    },
    [=](flush_atom) -> ad_delta {
      return ad_delta{self->state.ad_id, self->state.counts.take_changes()};
    },
    [=](const series_query& q) -> caf::result<series> {
      auto& st = self->state;
      series out;
      out.ad_id = st.ad_id;
      if (auto err = st.db->scan_minutes(st.ad_id, q.from_ms, q.to_ms, out.points)) return err;
      st.counts.overlay(q.from_ms, q.to_ms, out.points);
      return out;
    },
  };
}

}  // namespace adclick
