#include "actors/ad_actor.hpp"

#include <caf/all.hpp>

#include <algorithm>

#include "actors/core/rollup.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "messages/type_ids.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

/// Adds a minute's runs row (its sequenced ids), if it has one, to what is loaded of it.
/// A row that does not parse is an error, not an empty set: it may be their only copy.
caf::error add_runs_row(ad_state& st, std::int64_t minute, recent_ids::stored_minute& into) {
  auto row = st.db->read_runs(st.ad_id, minute);
  if (!row) return row.error();
  std::vector<id_span> spans;
  if (!row->empty()) {
    auto parsed = recent_ids::parse_runs(*row);
    if (!parsed)
      return make_error(errc::storage, "corrupt runs row of ad " + std::to_string(st.ad_id) + " minute " +
                                         std::to_string(minute));
    spans = std::move(*parsed);
  }
  into.add_runs(spans);
  return {};
}

/// Puts a minute's stored ids in memory: its chunks, a chunk at a time, into its filter
/// (not into memory: the minute may hold millions; sequenced ids there, written by format
/// 5 or past the minter cap, are looked up like any other), then its runs row. `count` is
/// its stored bucket: the filter is sized for it. All or nothing: a failed read leaves the
/// minute out of memory.
caf::error load_ids(ad_state& st, std::int64_t minute, std::uint64_t count) {
  recent_ids::stored_minute ids{id_filter{count + count / 4}, {}, true};
  if (auto err = st.db->visit_ids(st.ad_id, minute, [&](const click_id& id) { ids.add(id); })) return err;
  if (auto err = add_runs_row(st, minute, ids)) return err;
  st.ids.load_stored(minute, std::move(ids));
  return {};
}

/// Loads a minute's durable bucket and what dedup needs: nothing if it has no clicks (a Get
/// that LevelDB's own Bloom filter usually answers without a disk read), the filter row and
/// the runs row if it is final (late clicks with new ids then need no read of the ids),
/// else the ids and the runs row.
caf::error seed_minute(ad_state& st, std::int64_t minute) {
  if (st.fresh && !st.counts.dropped_any()) {
    st.counts.seed({minute, 0, bucket_state::open, 0});
    st.ids.load(minute, {});
    return {};  // its hour and day start at zero in minute_counts
  }
  // The minute's hour and day first: every change of the minute moves them.
  for (auto g : {granularity::hour, granularity::day}) {
    const auto start = bucket_start(minute, bucket_width(g));
    if (st.counts.has_rollup(g, start)) continue;
    auto rolled = st.db->read_rollup(st.ad_id, g, start);
    if (!rolled) return rolled.error();
    st.counts.seed_rollup(g, start, *rolled);
  }
  auto stored = st.db->read_minute(st.ad_id, minute);
  if (!stored) return stored.error();
  st.counts.seed(*stored);
  if (stored->count == 0) {
    st.ids.load(minute, {});
    return {};
  }
  if (stored->state != bucket_state::open) {
    auto filter = st.db->read_filter(st.ad_id, minute);
    if (!filter) return filter.error();
    // The filter's "no" is trusted, so it must hold every id the bucket counted: one that
    // holds fewer, or none, or one that does not parse, is not used; the ids decide.
    auto parsed = recent_ids::parse_stored(*filter);
    if (parsed)
      if (auto err = add_runs_row(st, minute, *parsed)) return err;
    const auto held = parsed ? parsed->distinct_at_least() : 0;
    if (parsed && held >= stored->count) {
      st.ids.load_stored(minute, std::move(*parsed));
      return {};
    }
    if (!filter->empty())
      log_warn("ad", "ad_filter_unusable").kv("ad", st.ad_id).kv("minute", minute).kv("count", stored->count)
        .kv("filter_ids", held);
  }
  return load_ids(st, minute, stored->count);
}

/// Records a click's id; false if it is a duplicate. Looks the id up in the store only
/// when the minute's filter cannot rule it out (one shard of its chunks, not all its ids).
caf::expected<bool> record_id(ad_state& st, std::int64_t minute, const click_id& id) {
  auto r = st.ids.insert(minute, id);
  if (r == recent_ids::insert_result::need_lookup) {
    auto stored = st.db->contains_id(st.ad_id, minute, id);
    if (!stored) return stored.error();
    r = st.ids.resolve(minute, id, *stored);
  }
  return r == recent_ids::insert_result::added;
}

/// Reads whom the ad's counts roll up into, if it is stored (an ad that counted before this
/// actor started: a restart, a passivation). Every path that moves a minute calls it first,
/// so that no move goes to a campaign the ad does not belong to.
caf::error load_owner(ad_state& st) {
  if (st.owner_known) return {};
  auto stored = st.db->read_owner(st.ad_id);
  if (!stored) return stored.error();
  if (*stored) {
    st.campaign_id = (*stored)->campaign_id;
    st.advertiser_id = (*stored)->advertiser_id;
    st.owner_known = true;
  }
  return {};
}

/// Learns whom the ad's counts roll up into: the store's answer, else the first click's.
caf::error learn_owner(ad_state& st, const click& first) {
  if (auto err = load_owner(st)) return err;
  if (!st.owner_known) {
    st.campaign_id = first.campaign_id;
    st.advertiser_id = first.advertiser_id;
    st.new_owner = true;
    st.fresh = true;  // the owner is stored with the ad's first counts: nothing is stored yet
    st.owner_known = true;
  }
  return {};
}

}  // namespace

caf::behavior ad_actor(caf::stateful_actor<ad_state>* self, std::uint64_t ad_id, store* db, bool live) {
  self->state.ad_id = ad_id;
  self->state.db = db;
  self->state.live = live;
  return {
    [=](ad_clicks& batch) {
      auto& st = self->state;
      ++st.batches_handled;
      if (!st.owner_known && !batch.clicks.empty()) {
        if (auto err = learn_owner(st, batch.clicks.front())) {
          log_error("ad", "ad_owner_failed").kv("ad", st.ad_id).kv("error", describe(err));
          self->quit(err);
          return;
        }
      }
      for (const auto& c : batch.clicks) {
        if (c.campaign_id != st.campaign_id || c.advertiser_id != st.advertiser_id) ++st.owner_conflicts;
        auto minute = minute_of(c.event_time_ms);
        if (!st.counts.has(minute)) {
          if (auto err = seed_minute(st, minute)) {
            // Counting on an unknown base would corrupt the count: stop, and take the
            // partition (it monitors this actor) down rather than ack anything.
            log_error("ad", "ad_seed_failed").kv("ad", st.ad_id).kv("error", describe(err));
            self->quit(err);
            return;
          }
        }
        auto fresh = record_id(st, minute, c.id);
        if (!fresh) {
          log_error("ad", "ad_ids_failed").kv("ad", st.ad_id).kv("error", describe(fresh.error()));
          self->quit(fresh.error());
          return;
        }
        if (!*fresh) {
          ++st.duplicates;
          continue;
        }
        if (st.live && (st.live_dirty.empty() || st.live_dirty.back() != minute)) st.live_dirty.push_back(minute);
        if (c.late) {
          st.counts.add_late(minute);
          ++st.amended;
        } else {
          st.counts.add(minute);
          ++st.counted;
        }
      }
    },
    [=](finalize_atom, std::int64_t minute) {
      auto& st = self->state;
      if (auto err = load_owner(st)) {
        log_error("ad", "ad_owner_failed").kv("ad", st.ad_id).kv("error", describe(err));
        self->quit(err);
        return;
      }
      if (!st.counts.has(minute)) {
        if (auto err = seed_minute(st, minute)) {
          log_error("ad", "ad_seed_failed").kv("ad", st.ad_id).kv("error", describe(err));
          self->quit(err);
          return;
        }
      }
      if (st.counts.finalize_before(minute + minute_ms) != 0 && st.live) st.live_dirty.push_back(minute);
    },
    [=](live_atom, const caf::actor& hub) {
      auto& st = self->state;
      if (st.live_dirty.empty()) return;
      std::sort(st.live_dirty.begin(), st.live_dirty.end());
      st.live_dirty.erase(std::unique(st.live_dirty.begin(), st.live_dirty.end()), st.live_dirty.end());
      live_update u;
      u.id = st.ad_id;
      for (auto m : st.live_dirty) {
        const auto v = st.counts.get(m);
        if (v.count != 0) u.minutes.push_back({m, v.count, v.state, v.version});
      }
      st.live_dirty.clear();
      if (!u.minutes.empty()) self->send(hub, std::move(u));
    },
    [=](flush_atom, bool previous_durable) -> ad_delta {
      auto& st = self->state;
      // Everything taken by earlier flushes is durable: settled final buckets (and their
      // ids) can leave memory; a late click brings them back from the store.
      if (previous_durable) {
        st.ids.drop(st.counts.drop_settled());
        // Every earlier take is durable, and this flush takes what is young now: the old
        // generation can leave memory (recent_ids::rotate).
        const auto now = self->clock().now();
        if (now - st.last_rotate >= recent_window) {
          st.ids.rotate();
          st.last_rotate = now;
        }
      }
      ad_delta d;
      d.ad_id = st.ad_id;
      d.minutes = st.counts.take_changes();
      d.ids = st.ids.take_changes();
      d.runs = st.ids.take_runs_changes();
      d.counted = st.counted;
      d.duplicates = st.duplicates;
      d.amended = st.amended;
      d.rollups = st.counts.take_rollup_changes();
      d.changes = st.counts.take_moves();
      d.campaign_id = st.campaign_id;
      d.advertiser_id = st.advertiser_id;
      d.new_owner = st.new_owner;
      d.owner_conflicts = st.owner_conflicts;
      st.total_counted += st.counted;
      st.total_duplicates += st.duplicates;
      st.total_amended += st.amended;
      st.counted = st.duplicates = st.amended = st.owner_conflicts = 0;
      st.new_owner = false;
      // A bucket that became final or was amended gets the filter a late click will read.
      for (const auto& b : d.minutes)
        if (b.state != bucket_state::open)
          if (auto f = st.ids.stored(b.minute_ms)) d.filters.push_back({b.minute_ms, std::move(*f)});
      d.memory = {st.ids.ids_in_memory(), st.ids.memory_bytes(), st.counts.open_clicks()};
      return d;
    },
    [=](inspect_atom) {
      auto& st = self->state;
      ad_status s;
      s.ad_id = st.ad_id;
      s.active = true;
      s.minutes = st.counts.all();
      s.ids_in_memory = st.ids.ids_in_memory();
      s.id_bytes = st.ids.memory_bytes();
      s.counted = st.total_counted + st.counted;
      s.duplicates = st.total_duplicates + st.duplicates;
      s.amended = st.total_amended + st.amended;
      s.batches_handled = st.batches_handled;  // the partition turns it into the number waiting
      s.live_pending = st.live_dirty.size();
      s.campaign_id = st.campaign_id;
      s.advertiser_id = st.advertiser_id;
      return s;
    },
    [=](const series_query& q) -> caf::result<series> {
      auto& st = self->state;
      series out;
      out.id = st.ad_id;  // the partition stamps the watermark and turns `rolled` into points
      if (q.gran == granularity::minute) {
        if (auto err = st.db->scan_minutes(st.ad_id, q.from_ms, q.to_ms, out.points)) return err;
        st.counts.overlay(q.from_ms, q.to_ms, out.points);
        return out;
      }
      std::vector<std::pair<std::int64_t, rollup_value>> rolled;
      if (auto err = st.db->scan_rollups(st.ad_id, q.gran, q.from_ms, q.to_ms, rolled)) return err;
      st.counts.overlay_rollups(q.gran, q.from_ms, q.to_ms, rolled);
      for (const auto& [start, v] : rolled) out.rolled.push_back({q.gran, start, v});
      return out;
    },
  };
}

}  // namespace adclick
