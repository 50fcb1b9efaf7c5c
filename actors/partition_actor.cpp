#include "actors/partition_actor.hpp"

#include <caf/all.hpp>

#include "actors/ad_actor.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "messages/type_ids.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

using self_ptr = caf::stateful_actor<partition_state>*;

void start_checkpoint(self_ptr self);

void fail(self_ptr self, const caf::error& err, const char* what) {
  log_error(what).kv("partition", self->state.cfg.partition).kv("error", describe(err));
  self->quit(err);
}

void commit_checkpoint(self_ptr self) {
  auto& st = self->state;
  const auto seq = st.building.stream_seq;
  // Moved, not copied: a failed write hands the rows back in its result.
  self->request(st.cfg.writer, caf::infinite, std::move(st.building))
    .then(
      [=](checkpoint_result& r) {
        auto& st = self->state;
        st.building = checkpoint{};
        st.checkpointing = false;
        if (!r.durable) {
          // Nothing is acked; the rows go into the next attempt.
          log_error("checkpoint_failed").kv("partition", st.cfg.partition).kv("error", r.error);
          st.carried = std::move(r.ads);
          return;
        }
        st.durable_seq = seq;
        st.cfg.cursor->durable_seq.store(seq, std::memory_order_release);
        ++st.checkpoints;
        if (st.pending_messages >= st.cfg.checkpoint_max_pending) start_checkpoint(self);
      },
      // The writer is gone with the rows it held: stop before anything else is acked (a
      // restart replays from the last durable position).
      [=](caf::error& err) { fail(self, err, "checkpoint_writer_failed"); });
}

void start_checkpoint(self_ptr self) {
  auto& st = self->state;
  if (st.checkpointing) return;
  if (st.dispatched_seq == st.durable_seq && st.changed_ads.empty() && st.carried.empty()) return;
  st.checkpointing = true;
  st.building = checkpoint{};
  st.building.partition = st.cfg.partition;
  st.building.stream_seq = st.dispatched_seq;
  st.building.watermark_ms = st.clock.watermark();
  st.building.outcomes = st.outcomes;
  // The previous checkpoint (the only one that can be outstanding) succeeded unless it
  // left rows to carry: then every earlier flush is durable.
  const bool previous_durable = st.carried.empty();
  st.building.ads = std::move(st.carried);
  st.carried.clear();
  st.pending_messages = 0;
  st.awaiting_flushes = st.changed_ads.size();
  for (auto ad_id : st.changed_ads) {
    auto& ref = st.ads[ad_id];
    ref.changed = false;
    self->request(ref.handle, caf::infinite, flush_atom_v, previous_durable)
      .then(
        [=](ad_delta& delta) {
          auto& st = self->state;
          // The reply is the ad's state at the cut: its decisions belong to this checkpoint.
          for (auto* o : {&st.outcomes, &st.building.outcomes}) {
            (*o)[outcome::counted] += delta.counted;
            (*o)[outcome::duplicate] += delta.duplicates;
            (*o)[outcome::late_amended] += delta.amended;
          }
          st.undecided -= delta.counted + delta.duplicates + delta.amended;
          if (!delta.minutes.empty() || !delta.ids.empty()) st.building.ads.push_back(std::move(delta));
          if (--st.awaiting_flushes == 0) commit_checkpoint(self);
        },
        [=](caf::error& err) { fail(self, err, "flush_failed"); });
  }
  st.changed_ads.clear();
  if (st.awaiting_flushes == 0) commit_checkpoint(self);
}


caf::actor& ad_ref_for(self_ptr self, std::uint64_t ad_id) {
  auto& st = self->state;
  auto& ref = st.ads[ad_id];
  if (!ref.handle) ref.handle = self->spawn<caf::linked>(ad_actor, ad_id, st.cfg.db);
  ref.last_active = self->clock().now();
  if (!ref.changed) {
    ref.changed = true;
    st.changed_ads.push_back(ad_id);
  }
  return ref.handle;
}

/// Tells every ad with an open bucket before final_before to finalize it.
void finalize_due(self_ptr self) {
  auto& st = self->state;
  const auto final_before = st.clock.final_before();
  auto it = st.open_index.begin();
  for (; it != st.open_index.end() && it->first < final_before; ++it)
    for (auto ad_id : it->second) self->send(ad_ref_for(self, ad_id), finalize_atom_v, it->first);
  st.open_index.erase(st.open_index.begin(), it);
}

/// Stops ad actors idle for idle_timeout whose state is all durable.
void passivate_idle(self_ptr self) {
  auto& st = self->state;
  if (st.checkpointing || !st.carried.empty()) return;  // the last flushes may not be durable
  const auto now = self->clock().now();
  for (auto it = st.ads.begin(); it != st.ads.end();) {
    auto& ref = it->second;
    if (ref.changed || now - ref.last_active < st.cfg.idle_timeout) {
      ++it;
      continue;
    }
    self->unlink_from(ref.handle);  // its exit must not take the partition down
    self->send_exit(ref.handle, caf::exit_reason::user_shutdown);
    it = st.ads.erase(it);
    ++st.passivated;
  }
}

}  // namespace

caf::behavior partition_actor(self_ptr self, partition_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto pos = st.cfg.db->read_position(st.cfg.partition);
  if (!pos) {
    fail(self, pos.error(), "recovery_failed");
    return {};
  }
  st.dispatched_seq = st.durable_seq = pos->stream_seq;
  st.outcomes = pos->outcomes;
  st.clock = event_clock{st.cfg.rules};
  if (pos->stream_seq > 0) st.clock.restore(pos->watermark_ms);
  if (auto err = st.cfg.db->scan_open(st.cfg.partition, [&](std::int64_t minute, std::uint64_t ad) {
        st.open_index[minute].insert(ad);
      })) {
    fail(self, err, "recovery_failed");
    return {};
  }
  st.last_click_wall_ms = now_ms();
  st.recovered = true;
  st.cfg.cursor->durable_seq.store(st.durable_seq, std::memory_order_release);
  st.cfg.cursor->ready.store(true, std::memory_order_release);
  log_info("partition_recovered")
    .kv("partition", st.cfg.partition)
    .kv("stream_seq", st.durable_seq)
    .kv("counted", st.outcomes[outcome::counted]);

  // Ad actors are linked: an ad that fails (it could not read its stored base) takes the
  // partition down with it, and a partition that stops takes its ads along.
  self->delayed_send(self, st.cfg.checkpoint_interval, tick_atom_v);

  return {
    [=](const ingest_batch& batch) {
      auto& st = self->state;
      const auto wall = now_ms();
      st.dispatched_seq = group_by_ad(batch, st.dispatched_seq, st.clock, wall, st.scratch);
      st.outcomes += st.scratch.rejected;
      st.undecided += st.scratch.clicks;
      if (st.cfg.out)
        for (const auto& [c, reason] : st.scratch.rejected_clicks) st.cfg.out->rejected(c, reason);
      st.pending_messages += st.scratch.new_messages;
      if (st.scratch.clicks != 0) st.last_click_wall_ms = wall;
      for (auto& [ad_id, clicks] : st.scratch.by_ad) {
        std::int64_t indexed = event_clock::no_watermark;
        for (const auto& c : clicks) {
          auto minute = minute_of(c.event_time_ms);
          if (c.late || minute == indexed) continue;
          st.open_index[minute].insert(ad_id);
          indexed = minute;
        }
        self->send(ad_ref_for(self, ad_id), ad_clicks{std::move(clicks)});
      }
      finalize_due(self);
      // A batch of only redeliveries still moves nothing; the cursor already covers it.
      if (st.pending_messages >= st.cfg.checkpoint_max_pending) start_checkpoint(self);
    },
    [=](tick_atom) {
      auto& st = self->state;
      const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(st.cfg.idle_advance).count();
      const auto wall = now_ms();
      if (idle > 0 && wall - st.last_click_wall_ms >= idle) {
        st.clock.advance_to(wall - idle);
        finalize_due(self);
      }
      passivate_idle(self);
      start_checkpoint(self);
      self->delayed_send(self, self->state.cfg.checkpoint_interval, tick_atom_v);
    },
    [=](checkpoint_atom) { start_checkpoint(self); },
    [=](const series_query& q) -> caf::result<series> {
      auto& st = self->state;
      auto i = st.ads.find(q.ad_id);
      if (i != st.ads.end()) {
        i->second.last_active = self->clock().now();
        auto stamped = q;
        stamped.watermark_ms = st.clock.watermark();
        stamped.final_before_ms = st.clock.final_before();
        self->delegate(i->second.handle, stamped);
        return caf::delegated<series>{};
      }
      series out;
      out.ad_id = q.ad_id;
      out.watermark_ms = st.clock.watermark();
      out.final_before_ms = st.clock.final_before();
      if (auto err = st.cfg.db->scan_minutes(q.ad_id, q.from_ms, q.to_ms, out.points)) return err;
      return out;
    },
    [=](inspect_atom, std::uint64_t ad_id) -> caf::result<ad_status> {
      auto i = self->state.ads.find(ad_id);
      if (i == self->state.ads.end()) return ad_status{ad_id, false, 0, 0, 0};
      self->delegate(i->second.handle, inspect_atom_v);
      return caf::delegated<ad_status>{};
    },
    [=](status_atom) {
      auto& st = self->state;
      partition_status s;
      s.partition = st.cfg.partition;
      s.recovered = st.recovered;
      s.dispatched_seq = st.dispatched_seq;
      s.durable_seq = st.durable_seq;
      s.active_ads = st.ads.size();
      s.passivated = st.passivated;
      s.checkpoints = st.checkpoints;
      s.outcomes = st.outcomes;
      s.undecided = st.undecided;
      s.watermark_ms = st.clock.watermark();
      return s;
    },
  };
}

}  // namespace adclick
