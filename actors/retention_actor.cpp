#include "actors/retention_actor.hpp"

#include <caf/all.hpp>

#include "common/errc.hpp"
#include "common/log.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

namespace {
std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

caf::behavior retention_actor(caf::stateful_actor<retention_state>* self, retention_config cfg) {
  self->delayed_send(self, cfg.interval, tick_atom_v);
  auto fail = [=](const caf::error& err) {
    auto& st = self->state;
    log_error("retention", "retention_failed").kv("error", describe(err));
    cfg.stats->update([&](storage_status& s) {
      ++s.failures;
      s.last_error = describe(err);
    });
    st.at = {};
    st.pass = {};
    self->delayed_send(self, cfg.interval, tick_atom_v);
  };
  return {
    [=](tick_atom) {
      auto& st = self->state;
      if (st.at.next.empty() && !st.at.done) st.pass_started = std::chrono::steady_clock::now();
      auto step = cfg.db->purge_expired_ids(st.at, cfg.step_keys);
      if (!step) return fail(step.error());
      st.pass.keys += step->keys;
      st.pass.bytes += step->bytes;
      st.pass.floor_ms = step->floor_ms;
      st.pass.held_by = step->held_by;
      cfg.stats->update([&](storage_status& s) {
        s.purged_keys += step->keys;
        s.purged_bytes += step->bytes;
      });
      if (!st.at.done) {
        self->send(self, tick_atom_v);  // the next step, after anything already waiting
        return;
      }
      // The pass is done: give the emptied range's disk space back.
      std::int64_t compaction_ms = 0;
      if (st.pass.keys != 0 && st.pass.floor_ms) {
        const auto started = std::chrono::steady_clock::now();
        if (auto err = cfg.db->compact_ids_before(*st.pass.floor_ms)) return fail(err);
        compaction_ms = ms_since(started);
      }
      const auto pass_ms = ms_since(st.pass_started);
      if (st.pass.keys != 0)
        log_info("retention", "dedup_state_purged")
          .kv("floor_ms", *st.pass.floor_ms)
          .kv("held_by_partition", st.pass.held_by)
          .kv("keys", st.pass.keys)
          .kv("bytes", st.pass.bytes)
          .kv("pass_ms", pass_ms)
          .kv("compaction_ms", compaction_ms);
      cfg.stats->update([&](storage_status& s) {
        ++s.passes;
        if (st.pass.floor_ms) {
          s.dedup_floor_ms = *st.pass.floor_ms;
          s.floor_held_by = st.pass.held_by;
        }
        s.last_pass_ms = pass_ms;
        s.last_compaction_ms = compaction_ms;
        s.last_error.clear();
      });
      st.at = {};
      st.pass = {};
      self->delayed_send(self, cfg.interval, tick_atom_v);
    },
  };
}

}  // namespace adclick
