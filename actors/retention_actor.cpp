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
  using phase = retention_state::phase;
  self->delayed_send(self, cfg.interval, tick_atom_v);
  auto end_pass = [=] {
    auto& st = self->state;
    st.now = phase::idle;
    st.at = {};
    st.pass = {};
    st.counts = {};
    st.compaction_ms = 0;
  };
  auto fail = [=](const caf::error& err) {
    log_error("retention", "retention_failed").kv("error", describe(err));
    cfg.stats->update([&](storage_status& s) {
      ++s.failures;
      s.last_error = describe(err);
    });
    end_pass();
  };
  auto finish = [=] {
    auto& st = self->state;
    const auto pass_ms = ms_since(st.pass_started);
    if (st.pass.keys != 0)
      log_info("retention", "dedup_state_purged")
        .kv("floor_ms", *st.pass.floor_ms)
        .kv("held_by_partition", st.pass.held_by)
        .kv("keys", st.pass.keys)
        .kv("bytes", st.pass.bytes)
        .kv("pass_ms", pass_ms)
        .kv("compaction_ms", st.compaction_ms);
    if (st.counts.keys != 0)
      log_info("retention", "counts_purged")
        .kv("minutes_kept_from_ms", *st.counts.minutes_from_ms)
        .kv("held_by_partition", st.counts.held_by)
        .kv("keys", st.counts.keys);
    cfg.stats->update([&](storage_status& s) {
      if (st.counts.minutes_from_ms) s.minutes_kept_from_ms = *st.counts.minutes_from_ms;
      ++s.passes;
      if (st.pass.floor_ms) {
        s.dedup_floor_ms = *st.pass.floor_ms;
        s.floor_held_by = st.pass.held_by;
      }
      s.last_pass_ms = pass_ms;
      s.last_compaction_ms = st.compaction_ms;
      s.last_error.clear();
    });
    end_pass();
  };
  return {
    [=](tick_atom) {
      self->delayed_send(self, cfg.interval, tick_atom_v);
      if (self->state.now == phase::idle) self->send(self, sync_atom_v);
    },
    [=](sync_atom) {
      auto& st = self->state;
      if (st.now == phase::compacting) return;  // a test's early start: this pass is nearly done
      if (st.now == phase::idle) {
        st.now = phase::purging;
        st.pass_started = std::chrono::steady_clock::now();
      }
      if (st.now == phase::purging_counts) {
        auto step = cfg.db->purge_expired_counts(st.at, cfg.step_keys, cfg.counts);
        if (!step) return fail(step.error());
        auto& counts = st.counts;
        counts.keys += step->keys;
        if (step->minutes_from_ms && (!counts.minutes_from_ms || *step->minutes_from_ms < *counts.minutes_from_ms)) {
          counts.minutes_from_ms = step->minutes_from_ms;  // the lowest a step saw
          counts.held_by = step->held_by;
        }
        cfg.stats->update([&](storage_status& s) { s.purged_count_keys += step->keys; });
        if (!st.at.done) {
          self->send(self, sync_atom_v);
          return;
        }
        st.at = {};
        // Then give the deleted id minutes' disk space back, a slice at a time.
        if (st.pass.deleted_minutes.empty()) return finish();
        st.now = phase::compacting;
        self->send(self, compact_atom_v);
        return;
      }
      auto step = cfg.db->purge_expired_ids(st.at, cfg.step_keys);
      if (!step) return fail(step.error());
      auto& pass = st.pass;
      pass.keys += step->keys;
      pass.bytes += step->bytes;
      if (step->floor_ms && (!pass.floor_ms || *step->floor_ms < *pass.floor_ms)) {
        pass.floor_ms = step->floor_ms;  // the lowest a step saw: nothing below it is left
        pass.held_by = step->held_by;
      }
      pass.deleted_minutes.insert(step->deleted_minutes.begin(), step->deleted_minutes.end());
      cfg.stats->update([&](storage_status& s) {
        s.purged_keys += step->keys;
        s.purged_bytes += step->bytes;
      });
      if (!st.at.done) {
        self->send(self, sync_atom_v);  // the next step, after anything already waiting
        return;
      }
      // The ids are done: the counts next.
      st.at = {};
      st.now = phase::purging_counts;
      self->send(self, sync_atom_v);
    },
    [=](compact_atom) {
      auto& st = self->state;
      auto& minutes = st.pass.deleted_minutes;
      if (st.now != phase::compacting || minutes.empty()) return;
      // The first deleted minute and the ones within compact_minutes of it: gaps (minutes
      // with nothing deleted) are never compacted.
      const auto from = *minutes.begin();
      const auto last = from + (cfg.compact_minutes - 1) * 60'000;
      auto end = minutes.upper_bound(last);
      const auto to = *std::prev(end);
      const auto started = std::chrono::steady_clock::now();
      if (auto err = cfg.db->compact_ids(from, to)) return fail(err);
      st.compaction_ms += ms_since(started);
      minutes.erase(minutes.begin(), end);
      if (minutes.empty()) return finish();
      self->send(self, compact_atom_v);
    },
  };
}

}  // namespace adclick
