#include "actors/partition_actor.hpp"

#include <algorithm>
#include <tuple>

#include <caf/all.hpp>

#include "actors/ad_actor.hpp"
#include "actors/core/delta_merge.hpp"
#include "actors/core/query_rules.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/process_memory.hpp"
#include "common/time.hpp"
#include "messages/click_codec.hpp"
#include "messages/type_ids.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

using self_ptr = caf::stateful_actor<partition_state>*;

/// The longest pause between checkpoint attempts after failures.
constexpr auto max_backoff = std::chrono::seconds(30);
/// Campaign shares and rankings unchanged for this many checkpoints leave memory.
constexpr std::uint64_t idle_takes = 60;
/// Open buckets read per step of recovery.
constexpr std::size_t recovery_step = 4096;

/// Rows keyed by `key_of`, older first: one row per key, the newest winning.
template <class Row, class Key>
void merge_newest(std::vector<Row>& older, std::vector<Row>&& newer, Key key_of) {
  if (older.empty()) {
    older = std::move(newer);
    return;
  }
  std::map<decltype(key_of(older.front())), Row> rows;
  for (auto* side : {&older, &newer})
    for (auto& r : *side) rows[key_of(r)] = std::move(r);
  older.clear();
  for (auto& [k, r] : rows) older.push_back(std::move(r));
}

void start_checkpoint(self_ptr self, bool forced);
void answer_waiters(self_ptr self, const checkpoint& cp, const checkpoint_result& r);
void passivate_idle(self_ptr self);

/// The actor clock in milliseconds (monotonic; the rate meters' time).
std::int64_t steady_ms(self_ptr self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now().time_since_epoch()).count();
}

void fail(self_ptr self, const caf::error& err, const char* what) {
  log_error("partition", what).kv("partition", self->state.cfg.partition).kv("error", describe(err));
  self->quit(err);
}

/// Enough was taken since the last checkpoint started to write one now.
bool checkpoint_due(const partition_state& st) {
  return st.pending_messages >= st.cfg.checkpoint_max_pending ||
         (st.cfg.checkpoint_max_pending_bytes != 0 && st.pending_bytes >= st.cfg.checkpoint_max_pending_bytes);
}

std::int64_t final_before_of(const partition_state& st, std::int64_t watermark) {
  event_clock c{st.cfg.rules};
  c.restore(watermark, 0);
  return c.final_before();
}

/// Turns what the store and memory gave into the view's points (query_rules.hpp).
void finish_series(series& s, const series_query& q) {
  if (q.gran == granularity::minute) {
    keep_view(s.points, q.billing);
  } else {
    s.points = points_of(s.rolled, q.gran, s.final_before_ms, q.billing);
    s.rolled.clear();
  }
}

/// Whether retention deleted any bucket `q` asks for, by the partition's stored floor: read
/// after the buckets were, so that one deleted before that read is below it.
caf::error kept_or_error(store& db, std::uint32_t partition, const series_query& q) {
  auto floor = db.read_count_floor(partition);
  if (!floor) return floor.error();
  if (auto why = deleted_by_retention(q.gran, q.from_ms, *floor); !why.empty())
    return make_error(errc::past_retention, why);
  return {};
}

/// Folds `delta` into the checkpoint being built (at most one delta per ad).
void add_delta(partition_state& st, ad_delta&& delta) {
  auto [it, fresh] = st.building_index.try_emplace(delta.ad_id, st.building.ads.size());
  if (fresh) st.building.ads.push_back(std::move(delta));
  else merge_delta(st.building.ads[it->second], std::move(delta));
}

/// Applies a stream rebase: from now on sequences count in the stream created at `ns`.
void apply_rebase(partition_state& st, std::int64_t ns) {
  log_warn("partition", "partition_rebased")
    .kv("partition", st.cfg.partition)
    .kv("old_stream_created_ns", st.stream_created_ns)
    .kv("new_stream_created_ns", ns)
    .kv("old_stream_seq", st.dispatched_seq);
  st.stream_created_ns = ns;
  st.dispatched_seq = st.durable_seq = 0;
  st.cfg.cursor->durable_seq.store(0, std::memory_order_release);
  st.cfg.cursor->stream_created_ns.store(ns, std::memory_order_release);
}

/// `cp` names what the checkpoint wrote: its position, stream and watermark.
void on_written(self_ptr self, const checkpoint& cp, checkpoint_result& r) {
  auto& st = self->state;
  st.building = checkpoint{};
  st.building_index.clear();
  st.checkpointing = false;
  const auto started = st.in_flight_since_ms;
  st.in_flight_since_ms = 0;
  if (!r.durable) {
    // Nothing is acked; the rows go into the next attempt, after a pause that doubles.
    ++st.checkpoint_failures;
    ++st.consecutive_failures;
    if (st.failing_since_ms == 0) st.failing_since_ms = started;
    st.last_error = r.error;
    // interval x 2^(failures - 1), at most max_backoff (doubled step by step: a long
    // interval times a large power of two would overflow).
    auto pause = std::chrono::duration_cast<caf::timespan>(st.cfg.checkpoint_interval);
    for (std::uint32_t n = 1; n < st.consecutive_failures && pause < max_backoff; ++n) pause *= 2;
    st.retry_at = self->clock().now() + std::min<caf::timespan>(pause, max_backoff);
    std::uint64_t held_back = 0;
    if (st.failure_log.allow(now_ms(), held_back))
      log_error("partition", "checkpoint_failed")
        .kv("partition", st.cfg.partition)
        .kv("error", r.error)
        .kv("consecutive_failures", st.consecutive_failures)
        .kv("similar_lines_held_back", held_back);
    st.carried = std::move(r.rows.ads);
    for (auto& m : r.rows.outbox)
      if (m.type == outbox_message::kind::dlq) st.carried_dlq.push_back(std::move(m));
    st.carried_groups = std::move(r.rows.groups);
    st.carried_rankings = std::move(r.rows.rankings);
  } else {
    if (st.consecutive_failures != 0)
      log_info("partition", "checkpoint_recovered").kv("partition", st.cfg.partition).kv("failures", st.consecutive_failures);
    st.consecutive_failures = 0;
    st.failing_since_ms = 0;
    st.durable_seq = cp.stream_seq;
    st.durable_created_ns = cp.stream_created_ns;
    st.durable_watermark_ms = cp.watermark_ms;
    st.durable_final_before_ms = final_before_of(st, cp.watermark_ms);
    st.durable_at_ms = started;
    // Every take so far is durable: shares and rankings idle for a minute of checkpoints
    // leave memory (a later change reads them back).
    if (st.checkpoints % (idle_takes / 4) == 0) {  // a sweep every 15 checkpoints is enough
      if (st.groups.drop_settled(idle_takes) != 0) st.fresh_groups = false;
      if (st.rankings.drop_settled(idle_takes) != 0) st.fresh_rankings = false;
    }
    if (st.cfg.live_hub)  // also with no group change: the hub needs every partition's final_before
      self->send(st.cfg.live_hub, live_touches{st.cfg.partition, st.durable_final_before_ms, cp.groups});
    st.last_write_ms = r.write_ms;
    st.checkpoint_seconds.observe(static_cast<double>(r.write_ms) / 1000.0, checkpoint_seconds_bounds());
    st.cfg.cursor->durable_seq.store(cp.stream_seq, std::memory_order_release);
    st.durable_outcomes = cp.outcomes;
    ++st.checkpoints;
  }
  if (st.pending_rebase_ns != 0) {  // first: a rebase is applied with no checkpoint in flight
    apply_rebase(st, st.pending_rebase_ns);
    st.pending_rebase_ns = 0;
    start_checkpoint(self, true);
  }
  // Now, before the next checkpoint starts, every flush so far is durable: the one moment
  // ads can stop under a steady load (checkpoints back to back after max-pending).
  if (r.durable && self->clock().now() - st.last_idle_sweep >= st.cfg.checkpoint_interval) passivate_idle(self);
  answer_waiters(self, cp, r);  // may start a checkpoint for operators still waiting
  if (r.durable && checkpoint_due(st)) start_checkpoint(self, false);
}

/// Fills the checkpoint's campaign and advertiser shares and the rankings its buckets
/// changed. False if a stored ranking could not be read.
bool add_rollups(self_ptr self) {
  auto& st = self->state;
  auto& cp = st.building;
  auto seed = [&](ranking& r) { return st.fresh_rankings || !st.cfg.db->read_ranking(st.cfg.partition, r); };
  for (const auto& ad : cp.ads)
    for (const auto& r : ad.rollups)
      if (!st.rankings.update(entity::ad, r.gran, r.start_ms, ad.ad_id, r.value.count, seed)) return false;
  auto groups = st.groups.take_changes();
  for (const auto& g : groups)
    if (g.gran != granularity::minute && !st.rankings.update(g.kind, g.gran, g.start_ms, g.id, g.value.count, seed))
      return false;
  using group_key = std::tuple<entity, std::uint64_t, granularity, std::int64_t>;
  cp.groups = std::move(st.carried_groups);
  st.carried_groups.clear();
  merge_newest(cp.groups, std::move(groups),
               [](const group_count& g) { return group_key{g.kind, g.id, g.gran, g.start_ms}; });
  cp.rankings = std::move(st.carried_rankings);
  st.carried_rankings.clear();
  merge_newest(cp.rankings, st.rankings.take_changes(),
               [](const ranking& r) { return std::make_tuple(r.by, r.gran, r.start_ms); });
  return true;
}

void commit_checkpoint(self_ptr self) {
  auto& st = self->state;
  auto& cp = st.building;
  if (!add_rollups(self)) {
    fail(self, make_error(errc::storage, "cannot read a stored ranking"), "ranking_read_failed");
    return;
  }
  // FinalCount rows for billing: every bucket that became final or was amended.
  for (const auto& ad : cp.ads)
    for (const auto& m : ad.minutes)
      if (m.state != bucket_state::open) {
        outbox_message row;
        row.type = outbox_message::kind::final_count;
        row.subject = st.cfg.names.final_of(ad.ad_id);
        row.msg_id = std::to_string(ad.ad_id) + ":" + std::to_string(m.minute_ms) + ":" + std::to_string(m.version);
        row.payload = encode_final_count(ad.ad_id, m);
        cp.outbox.push_back(std::move(row));
      }
  const auto now = now_ms();
  for (auto& row : cp.outbox) {
    row.seq = st.next_outbox_seq++;
    row.created_ms = now;
    row.check_since_ms = st.failing_since_ms;  // non-zero after failed attempts
  }
  cp.next_outbox_seq = st.next_outbox_seq;
  checkpoint head;  // the position, without the rows (but the group minutes, for live updates)
  if (st.cfg.live_hub)
    for (const auto& g : cp.groups)
      if (g.gran == granularity::minute) head.groups.push_back(g);
  head.number = cp.number;
  head.outcomes = cp.outcomes;
  head.stream_seq = cp.stream_seq;
  head.stream_created_ns = cp.stream_created_ns;
  head.watermark_ms = cp.watermark_ms;
  // Moved, not copied: a failed write hands the rows back in its result.
  self->request(st.cfg.writer, caf::infinite, std::move(cp))
    .then([=](checkpoint_result& r) { on_written(self, head, r); },
          // The writer is gone with the rows it held: stop before anything else is acked (a
          // restart replays from the last durable position).
          [=](caf::error& err) { fail(self, err, "checkpoint_writer_failed"); });
}

/// True if everything dispatched is durable: a checkpoint now would write nothing.
bool nothing_to_write(const partition_state& st) {
  return !st.checkpointing && st.dispatched_seq == st.durable_seq && st.stream_created_ns == st.durable_created_ns &&
         st.clock.watermark() == st.durable_watermark_ms && st.changed_ads.empty() && st.carried.empty() &&
         st.carried_dlq.empty() && st.dlq.empty() && st.carried_groups.empty() && st.carried_rankings.empty();
}

/// Starts a checkpoint of everything dispatched, unless one is in flight, the last one
/// failed less than its backoff ago (`forced` ignores that), or there is nothing to write.
void start_checkpoint(self_ptr self, bool forced) {
  auto& st = self->state;
  if (st.checkpointing) return;
  if (!forced && self->clock().now() < st.retry_at) return;
  if (nothing_to_write(st)) {
    st.durable_at_ms = now_ms();  // everything dispatched is durable as of now
    return;
  }
  st.checkpointing = true;
  st.in_flight_since_ms = now_ms();
  st.building = checkpoint{};
  st.building.partition = st.cfg.partition;
  st.building.number = st.next_checkpoint++;
  st.building.stream_seq = st.dispatched_seq;
  st.building.stream_created_ns = st.stream_created_ns;
  st.building.watermark_ms = st.clock.watermark();
  st.building.last_publish_ms = st.clock.last_publish_ms();
  st.building.outcomes = st.outcomes;
  // The previous checkpoint (the only one that can be outstanding) succeeded unless it
  // left rows to carry: then every earlier flush is durable.
  const bool previous_durable = st.carried.empty() && st.carried_dlq.empty() && st.carried_groups.empty() &&
                               st.carried_rankings.empty() && st.consecutive_failures == 0;
  st.building_index.clear();
  for (auto& d : st.carried) add_delta(st, std::move(d));
  st.carried.clear();
  st.building.outbox = std::move(st.carried_dlq);
  st.carried_dlq.clear();
  std::move(st.dlq.begin(), st.dlq.end(), std::back_inserter(st.building.outbox));
  st.dlq.clear();
  st.pending_messages = 0;
  st.pending_bytes = 0;
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
          st.owner_conflicts += delta.owner_conflicts;
          if (auto i = st.ads.find(delta.ad_id); i != st.ads.end()) {
            st.dedup -= i->second.memory;
            i->second.memory = delta.memory;
            st.dedup += delta.memory;
          }
          // The ad's minute moves roll up into its campaign and advertiser now, once: a
          // carried delta is not applied again.
          auto seed = [&](const group_rollups::key& k) -> std::optional<rollup_value> {
            if (st.fresh_groups) return rollup_value{};
            auto v = st.cfg.db->read_group(k.kind, k.id, k.gran, k.start_ms, st.cfg.partition);
            if (!v) return std::nullopt;
            return *v;
          };
          for (const auto& move : delta.changes)
            if (!st.groups.apply(delta.campaign_id, delta.advertiser_id, move, seed)) {
              fail(self, make_error(errc::storage, "cannot read a campaign rollup"), "group_read_failed");
              return;
            }
          if (!delta.minutes.empty() || !delta.ids.empty() || !delta.runs.empty() || delta.new_owner) add_delta(st, std::move(delta));
          if (--st.awaiting_flushes == 0) commit_checkpoint(self);
        },
        [=](caf::error& err) { fail(self, err, "flush_failed"); });
  }
  st.changed_ads.clear();
  if (st.awaiting_flushes == 0) commit_checkpoint(self);
}

/// The ad's actor, spawned if it has none. `clicked`: the ad has clicks to count, which
/// makes it active now; a finalize alone does not (an ad brought back only to close a
/// minute is the first to stop again once that is durable).
partition_state::ad_ref& ad_ref_for(self_ptr self, std::uint64_t ad_id, bool clicked = true) {
  auto& st = self->state;
  auto& ref = st.ads[ad_id];
  if (!ref.handle) {
    ref.ad_id = ad_id;
    ref.handle = self->spawn<caf::monitored>(ad_actor, ad_id, st.cfg.db,
                                             st.cfg.live_hub && st.cfg.live_interval.count() > 0);
    ref.last_active = self->clock().now() - st.cfg.idle_timeout;  // idle already, unless clicked
    if (!clicked) st.idle.push_front(ref);
  }
  if (clicked) {
    ref.last_active = self->clock().now();
    st.idle.touch(ref);
  }
  if (!ref.changed) {
    ref.changed = true;
    st.changed_ads.push_back(ad_id);
  }
  if (!ref.live && st.cfg.live_hub && st.cfg.live_interval.count() > 0) {
    ref.live = true;
    st.live_ads.push_back(ad_id);
  }
  return ref;
}

/// Tells every ad with an open bucket before final_before to finalize it.
void finalize_due(self_ptr self) {
  auto& st = self->state;
  const auto final_before = st.clock.final_before();
  auto it = st.open_index.begin();
  for (; it != st.open_index.end() && it->first < final_before; ++it)
    for (auto ad_id : it->second) self->send(ad_ref_for(self, ad_id, false).handle, finalize_atom_v, it->first);
  st.open_index.erase(st.open_index.begin(), it);
}

/// True if every flush taken so far is durable: an ad unchanged since its last flush may
/// stop (a checkpoint in flight or rows to carry may not be durable yet).
bool flushes_durable(const partition_state& st) {
  return !st.checkpointing && st.carried.empty() && st.carried_groups.empty() && st.consecutive_failures == 0;
}

/// Stops the ad actor of `it`; its state must be durable (flushes_durable, not changed).
std::unordered_map<std::uint64_t, partition_state::ad_ref>::iterator passivate(
  self_ptr self, std::unordered_map<std::uint64_t, partition_state::ad_ref>::iterator it) {
  auto& st = self->state;
  // Changes not yet sent live go to the hub first (the exit queues behind them): a
  // dashboard must not keep a count the store has moved past.
  if (it->second.live && st.cfg.live_hub && (!st.cfg.live_wants || st.cfg.live_wants(it->first)))
    self->send(it->second.handle, live_atom_v, st.cfg.live_hub);
  self->demonitor(it->second.handle);  // its exit is no failure (O(1): the ad holds the monitor)
  self->send_exit(it->second.handle, caf::exit_reason::user_shutdown);
  ++st.passivated;
  st.idle.erase(it->second);
  note_bulk_free(1);  // its memory is freed: the service hands such pages back now and then
  st.dedup -= it->second.memory;
  return st.ads.erase(it);
}

/// Stops ad actors idle for idle_timeout whose state is all durable; then, while more than
/// max_active_ads are active, the longest idle of the rest down to 7/8 of it (each one
/// durable and unchanged since its last flush, so that stopping it loses nothing). Walks
/// `idle` from the longest idle: it visits the ads it stops and the changed ones it must
/// keep, and stops at the first ad active within the idle timeout (all after it were too).
void passivate_idle(self_ptr self) {
  auto& st = self->state;
  if (!flushes_durable(st)) return;
  const auto now = self->clock().now();
  st.last_idle_sweep = now;
  // Each step moves on before `passivate` erases the entry (and its hook).
  auto ad_of = [](idle_hook* h) -> partition_state::ad_ref& { return static_cast<partition_state::ad_ref&>(*h); };
  for (auto* h = st.idle.front(); h != nullptr;) {
    auto& ref = ad_of(h);
    if (now - ref.last_active < st.cfg.idle_timeout) break;
    h = idle_order::next(*h);
    if (!ref.changed) passivate(self, st.ads.find(ref.ad_id));
  }
  const auto limit = st.cfg.max_active_ads;
  if (limit == 0 || st.ads.size() <= limit) return;
  const auto target = limit - limit / 8;
  for (auto* h = st.idle.front(); h != nullptr && st.ads.size() > target;) {
    auto& ref = ad_of(h);
    h = idle_order::next(*h);
    if (ref.changed) continue;
    passivate(self, st.ads.find(ref.ad_id));
    ++st.passivated_over_limit;
  }
}

/// After a checkpoint: answers the operators waiting for one (admin checkpoint) and for
/// ads to stop (admin passivate), and starts another checkpoint for those still waiting.
/// `cp` is the checkpoint that was written (durable or not).
void answer_waiters(self_ptr self, const checkpoint& cp, const checkpoint_result& r) {
  auto& st = self->state;
  auto failed = [&] { return make_error(errc::storage, "checkpoint failed: " + r.error); };
  for (auto it = st.sync_waiters.begin(); it != st.sync_waiters.end();) {
    if (!r.durable) it->rp.deliver(failed());
    else if (cp.number >= it->first) it->rp.deliver(checkpoint_report{st.cfg.partition, st.durable_seq, r.write_ms, true});
    else {
      ++it;
      continue;
    }
    it = st.sync_waiters.erase(it);
  }
  for (auto w = st.passivate_waiters.begin(); w != st.passivate_waiters.end();) {
    if (!r.durable) {
      w->rp.deliver(failed());
      w = st.passivate_waiters.erase(w);
      continue;
    }
    auto i = st.ads.find(w->ad_id);
    if (i == st.ads.end() || (!i->second.changed && flushes_durable(st))) {
      const bool active = i != st.ads.end();
      if (active) passivate(self, i);
      // Not active: idle passivation stopped it meanwhile, also durable.
      w->rp.deliver(passivate_report{w->ad_id, st.cfg.partition, true, st.durable_seq});
      w = st.passivate_waiters.erase(w);
    } else if (++w->checkpoints_seen >= 5) {
      w->rp.deliver(make_error(errc::busy, "ad " + std::to_string(w->ad_id) +
                                             " kept counting clicks across 5 checkpoints; not passivated"));
      w = st.passivate_waiters.erase(w);
    } else {
      ++w;
    }
  }
  if (!r.durable) return;
  if (!st.sync_waiters.empty() || !st.passivate_waiters.empty()) {
    if (nothing_to_write(st)) {  // everything dispatched is durable already
      for (auto& w : st.sync_waiters) w.rp.deliver(checkpoint_report{st.cfg.partition, st.durable_seq, 0, false});
      st.sync_waiters.clear();
    }
    start_checkpoint(self, true);
  }
}

/// The DLQ row of one rejected arrival. Its Nats-Msg-Id names the stream, the message and
/// the rejection's place in it, so a replay after a crash writes the same id.
outbox_message dlq_row(const partition_state& st, rejection&& r) {
  outbox_message row;
  row.type = outbox_message::kind::dlq;
  row.subject = st.cfg.names.dlq();
  row.msg_id = std::to_string(st.stream_created_ns) + ":" + std::to_string(r.stream_seq) + ":" +
               std::to_string(r.ordinal);
  row.reason = to_string(r.reason);
  if (r.bytes.size() > dlq_max_payload) {
    row.original_bytes = r.bytes.size();
    r.bytes.resize(dlq_max_payload);
  }
  row.payload = std::move(r.bytes);
  return row;
}

partition_status status_of(self_ptr self) {
  const auto& st = self->state;
  partition_status s;
  s.partition = st.cfg.partition;
  s.recovered = st.recovered;
  s.dispatched_seq = st.dispatched_seq;
  s.durable_seq = st.durable_seq;
  s.stream_created_ns = st.stream_created_ns;
  s.active_ads = st.ads.size();
  s.passivated = st.passivated;
  s.passivated_over_limit = st.passivated_over_limit;
  s.checkpoints = st.checkpoints;
  s.checkpoint_failures = st.checkpoint_failures;
  s.failing_since_ms = st.failing_since_ms;
  s.last_checkpoint_error = st.last_error;
  s.durable_at_ms = st.durable_at_ms;
  s.last_checkpoint_ms = st.last_write_ms;
  s.in_flight_since_ms = st.in_flight_since_ms;
  s.outcomes = st.outcomes;
  s.durable_outcomes = st.durable_outcomes;
  s.undecided = st.undecided;
  s.watermark_ms = st.clock.watermark();
  s.durable_final_before_ms = st.durable_final_before_ms;
  s.owner_conflicts = st.owner_conflicts;
  s.outbox_pending = st.dlq.size() + st.carried_dlq.size();
  s.carried = st.carried.size();
  const auto sent = st.cfg.cursor->batches_sent.load(std::memory_order_relaxed);
  s.mailbox = sent > st.batches_handled ? sent - st.batches_handled : 0;
  s.messages_dispatched = st.messages_dispatched;
  s.clicks_dispatched = st.clicks_dispatched;
  s.checkpoint_seconds = st.checkpoint_seconds;
  s.dedup = st.dedup;
  return s;
}

caf::behavior running(self_ptr self);

caf::error recovering_error(self_ptr self) {
  return make_error(errc::recovering, "partition " + std::to_string(self->state.cfg.partition) + " is recovering");
}

/// An ad with no actor, from the store: its owner and the stored minutes of the last two
/// hours of event time (bounded reads). errc::not_found if it never counted a click.
caf::expected<ad_status> stored_ad(self_ptr self, std::uint64_t ad_id) {
  auto& st = self->state;
  auto owner = st.cfg.db->read_owner(ad_id);
  if (!owner) return owner.error();
  if (!*owner) return make_error(errc::not_found, "ad " + std::to_string(ad_id) + " has counted no click");
  ad_status s;
  s.ad_id = ad_id;
  s.partition = st.cfg.partition;
  s.passivated = true;
  s.campaign_id = (*owner)->campaign_id;
  s.advertiser_id = (*owner)->advertiser_id;
  const auto now = std::max<std::int64_t>(st.clock.watermark(), 0);
  std::vector<series_point> points;
  if (auto err = st.cfg.db->scan_minutes(ad_id, minute_of(now) - 120 * minute_ms, minute_of(now) + 60 * minute_ms, points))
    return err;
  for (const auto& p : points) s.minutes.push_back({p.start_ms, p.count, p.state, p.version});
  return s;  // its ids on disk are counted by the gateway's store reader, off this actor
}

}  // namespace

void stop_at_once(const caf::actor& a) {
  // anon_send_exit queues the exit behind the mailbox; an urgent message id puts it in
  // CAF 0.17's urgent queue, which gets the first (and a double) share of each round.
  if (a)
    a->enqueue(nullptr, caf::make_message_id(caf::message_priority::high),
               caf::make_message(caf::exit_msg{a->address(), caf::exit_reason::user_shutdown}), nullptr);
}

partition_state::~partition_state() {
  for (const auto& [ad_id, ref] : ads) stop_at_once(ref.handle);
}

caf::behavior partition_actor(self_ptr self, partition_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  auto pos = st.cfg.db->read_position(st.cfg.partition);
  if (!pos) {
    fail(self, pos.error(), "recovery_failed");
    return {};
  }
  st.dispatched_seq = st.durable_seq = pos->stream_seq;
  st.stream_created_ns = st.durable_created_ns = pos->stream_created_ns;
  st.next_outbox_seq = pos->next_outbox_seq;
  st.next_checkpoint = pos->next_checkpoint;
  st.outcomes = st.durable_outcomes = pos->outcomes;
  st.clock = event_clock{st.cfg.rules};
  if (pos->read_a_stream()) st.clock.restore(pos->watermark_ms, pos->last_publish_ms);
  st.durable_watermark_ms = st.clock.watermark();
  st.durable_final_before_ms = final_before_of(st, st.durable_watermark_ms);
  // Nothing was ever checkpointed here: no share or ranking of this partition is stored.
  st.fresh_groups = st.fresh_rankings = pos->stream_seq == 0 && pos->stream_created_ns == 0 &&
                                        pos->next_checkpoint == 0;
  // The index of open buckets is read in steps (a store may hold millions): between steps
  // the partition answers status and queries (503 recovering), and no click is fetched
  // (the ingress waits for ack_cursor::ready).
  self->send(self, recover_atom_v);
  // Anything else (no click can come before ack_cursor::ready, but a message this
  // behaviour does not know must never be dropped) waits for running().
  self->set_default_handler(caf::skip);
  return {
    [=](recover_atom) {
      auto& st = self->state;
      if (auto err = st.cfg.db->scan_open(st.cfg.partition, st.recovery, recovery_step,
                                          [&](std::int64_t minute, std::uint64_t ad) { st.open_index[minute].insert(ad); })) {
        fail(self, err, "recovery_failed");
        return;
      }
      if (!st.recovery.done) {
        // Through the clock, not the mailbox: CAF 0.17 would run a self-send in the same
        // turn (max-throughput is unbounded), so the worker thread would never go to the
        // gateway or the other partitions until the whole index was read.
        self->delayed_send(self, std::chrono::milliseconds(1), recover_atom_v);
        return;
      }
      self->become(running(self));
    },
    [=](const series_query&) -> caf::result<series> { return recovering_error(self); },
    [=](inspect_atom, std::uint64_t) -> caf::result<ad_status> { return recovering_error(self); },
    [=](sync_atom) -> caf::result<checkpoint_report> { return recovering_error(self); },
    [=](passivate_atom, std::uint64_t) -> caf::result<passivate_report> { return recovering_error(self); },
    [=](hot_atom, std::uint32_t) -> caf::result<std::vector<hot_ad>> { return recovering_error(self); },
    [=](checkpoint_atom) {},  // nothing dispatched yet: nothing to make durable
    [=](status_atom) { return status_of(self); },
  };
}

namespace {

/// The behaviour once recovered: counting, checkpoints, live updates, queries.
caf::behavior running(self_ptr self) {
  auto& st = self->state;
  self->set_default_handler(caf::print_and_drop);
  st.recovered = true;
  st.durable_at_ms = now_ms();
  st.cfg.cursor->durable_seq.store(st.durable_seq, std::memory_order_release);
  st.cfg.cursor->stream_created_ns.store(st.stream_created_ns, std::memory_order_release);
  st.cfg.cursor->ready.store(true, std::memory_order_release);
  log_info("partition", "partition_recovered")
    .kv("partition", st.cfg.partition)
    .kv("stream_seq", st.durable_seq)
    .kv("stream_created_ns", st.stream_created_ns)
    .kv("counted", st.outcomes[outcome::counted]);

  // Ad actors are monitored, not linked: an ad that stops by itself (it could not read its
  // stored base) takes the partition down with it (down_msg), and a partition that stops
  // stops its ads (~partition_state). A link would cost the partition an entry in its own
  // list of links per ad, and CAF 0.17 walks that list to remove one: passivating n ads
  // took O(n^2), and 62k ads per partition stalled it for minutes. A monitor lives in the
  // ad, and demonitor before a passivation removes it in O(1).
  self->set_down_handler([=](caf::down_msg& dm) {
    fail(self, dm.reason ? dm.reason : make_error(errc::storage, "an ad actor stopped by itself"), "ad_failed");
  });
  self->delayed_send(self, st.cfg.checkpoint_interval, tick_atom_v);
  if (st.cfg.live_hub && st.cfg.live_interval.count() > 0) self->delayed_send(self, st.cfg.live_interval, live_atom_v);

  return {
    [=](const ingest_batch& batch) {
      auto& st = self->state;
      ++st.batches_handled;
      st.dispatched_seq = group_by_ad(batch, st.dispatched_seq, st.clock, st.cfg.partitions, st.scratch);
      st.outcomes += st.scratch.rejected;
      st.undecided += st.scratch.clicks;
      for (auto& r : st.scratch.rejections) st.dlq.push_back(dlq_row(st, std::move(r)));
      st.pending_messages += st.scratch.new_messages;
      st.pending_bytes += batch.bytes;
      st.messages_dispatched += st.scratch.new_messages;
      st.clicks_dispatched += st.scratch.clicks + st.scratch.rejected.total();
      const auto now = steady_ms(self);
      for (auto& [ad_id, clicks] : st.scratch.by_ad) {
        std::int64_t indexed = event_clock::no_watermark;
        for (const auto& c : clicks) {
          auto minute = minute_of(c.event_time_ms);
          if (c.late || minute == indexed) continue;
          st.open_index[minute].insert(ad_id);
          indexed = minute;
        }
        auto& ref = ad_ref_for(self, ad_id);
        ref.rate.add(now, clicks.size());
        ++ref.batches_sent;
        self->send(ref.handle, ad_clicks{std::move(clicks)});
      }
      finalize_due(self);
      // A batch of only redeliveries still moves nothing; the cursor already covers it.
      if (checkpoint_due(st)) start_checkpoint(self, false);
    },
    [=](tick_atom) {
      passivate_idle(self);
      start_checkpoint(self, false);
      self->delayed_send(self, self->state.cfg.checkpoint_interval, tick_atom_v);
    },
    [=](checkpoint_atom) { start_checkpoint(self, true); },
    [=](live_atom) {
      auto& st = self->state;
      for (auto ad_id : st.live_ads) {
        auto i = st.ads.find(ad_id);
        if (i == st.ads.end()) continue;  // passivated since: nothing unsaid (it was durable)
        i->second.live = false;
        // Unwatched: nothing to send; the ad's changes since stay unsent until it changes
        // again while watched (a new stream first replays the current counts anyway).
        if (st.cfg.live_wants && !st.cfg.live_wants(ad_id)) continue;
        self->send(i->second.handle, live_atom_v, st.cfg.live_hub);
      }
      st.live_ads.clear();
      self->delayed_send(self, st.cfg.live_interval, live_atom_v);
    },
    [=](rebase_atom, std::int64_t created_ns) {
      auto& st = self->state;
      if (created_ns == st.stream_created_ns) return;
      if (st.checkpointing) {
        st.pending_rebase_ns = created_ns;  // after the write in flight, whose rows count in the old one
        return;
      }
      apply_rebase(st, created_ns);
      start_checkpoint(self, true);
    },
    [=](const series_query& q) -> caf::result<series> {
      auto& st = self->state;
      // What retention will delete is refused by the rules (the in-memory watermark is the
      // highest), what it did by the stored floor, read after the buckets (kept_or_error).
      if (auto why = past_retention(q.gran, q.from_ms, st.clock.watermark(), st.cfg.retention); !why.empty())
        return make_error(errc::past_retention, why);
      series out;
      out.kind = entity::ad;
      out.id = q.id;
      auto i = st.ads.find(q.id);
      if (i == st.ads.end()) {
        auto owner = st.cfg.db->read_owner(q.id);
        if (!owner) return owner.error();
        if (!*owner) return make_error(errc::not_found, "ad " + std::to_string(q.id) + " has counted no click");
      }
      if (q.billing || i == st.ads.end()) {
        // Billing: only what a crash cannot take back: the store, as of the last durable
        // checkpoint. Live, for an ad with no actor: the store is all there is.
        out.watermark_ms = q.billing ? st.durable_watermark_ms : st.clock.watermark();
        out.final_before_ms = q.billing ? st.durable_final_before_ms : st.clock.final_before();
        if (q.gran == granularity::minute) {
          if (auto err = st.cfg.db->scan_minutes(q.id, q.from_ms, q.to_ms, out.points)) return err;
        } else {
          std::vector<std::pair<std::int64_t, rollup_value>> rolled;
          if (auto err = st.cfg.db->scan_rollups(q.id, q.gran, q.from_ms, q.to_ms, rolled)) return err;
          for (const auto& [start, v] : rolled) out.rolled.push_back({q.gran, start, v});
        }
        if (auto err = kept_or_error(*st.cfg.db, st.cfg.partition, q)) return err;
        finish_series(out, q);
        return out;
      }
      out.watermark_ms = st.clock.watermark();
      out.final_before_ms = st.clock.final_before();
      i->second.last_active = self->clock().now();
      st.idle.touch(i->second);
      auto rp = self->make_response_promise<series>();
      self->request(i->second.handle, caf::infinite, q)
        .then(
          [=](series& s) mutable {
            if (auto err = kept_or_error(*self->state.cfg.db, self->state.cfg.partition, q)) {
              rp.deliver(std::move(err));
              return;
            }
            s.kind = entity::ad;
            s.watermark_ms = out.watermark_ms;
            s.final_before_ms = out.final_before_ms;
            finish_series(s, q);
            rp.deliver(std::move(s));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](inspect_atom, std::uint64_t ad_id) -> caf::result<ad_status> {
      auto& st = self->state;
      auto i = st.ads.find(ad_id);
      if (i == st.ads.end()) return stored_ad(self, ad_id);
      auto rp = self->make_response_promise<ad_status>();
      const auto now = self->clock().now();
      const auto idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - i->second.last_active).count();
      const auto rate = i->second.rate.per_second(steady_ms(self));
      self->request(i->second.handle, caf::infinite, inspect_atom_v)
        .then(
          [=](ad_status& s) mutable {
            // The ad answered having handled every batch sent before the request; those
            // sent since and not handled when it answered were queued behind it.
            auto& st = self->state;
            const auto j = st.ads.find(ad_id);
            const auto sent = j == st.ads.end() ? s.batches_handled : j->second.batches_sent;
            s.mailbox = sent > s.batches_handled ? sent - s.batches_handled : 0;
            s.partition = self->state.cfg.partition;
            s.idle_ms = idle_ms;
            s.clicks_per_s = rate;
            rp.deliver(std::move(s));
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](sync_atom) -> caf::result<checkpoint_report> {
      auto& st = self->state;
      if (nothing_to_write(st)) {
        st.durable_at_ms = now_ms();
        return checkpoint_report{st.cfg.partition, st.durable_seq, 0, false};
      }
      auto rp = self->make_response_promise<checkpoint_report>();
      // The next checkpoint to start covers everything dispatched now (one in flight does not).
      st.sync_waiters.push_back({st.next_checkpoint, rp});
      start_checkpoint(self, true);
      return rp;
    },
    [=](passivate_atom, std::uint64_t ad_id) -> caf::result<passivate_report> {
      auto& st = self->state;
      auto i = st.ads.find(ad_id);
      if (i == st.ads.end()) {
        auto owner = st.cfg.db->read_owner(ad_id);
        if (!owner) return owner.error();
        if (!*owner) return make_error(errc::not_found, "ad " + std::to_string(ad_id) + " has counted no click");
        return passivate_report{ad_id, st.cfg.partition, false, st.durable_seq};
      }
      if (!i->second.changed && flushes_durable(st)) {
        passivate(self, i);
        return passivate_report{ad_id, st.cfg.partition, true, st.durable_seq};
      }
      auto rp = self->make_response_promise<passivate_report>();
      st.passivate_waiters.push_back({ad_id, 0, rp});
      start_checkpoint(self, true);
      return rp;
    },
    [=](hot_atom, std::uint32_t k) {
      auto& st = self->state;
      const auto now = steady_ms(self);
      std::vector<hot_ad> out;
      out.reserve(st.ads.size());
      for (const auto& [ad_id, ref] : st.ads)
        if (auto r = ref.rate.per_second(now); r > 0) out.push_back({ad_id, st.cfg.partition, r});
      auto by_rate = [](const hot_ad& a, const hot_ad& b) {
        return a.clicks_per_s != b.clicks_per_s ? a.clicks_per_s > b.clicks_per_s : a.ad_id < b.ad_id;
      };
      const auto n = std::min<std::size_t>(k, out.size());
      std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), by_rate);
      out.resize(n);
      return out;
    },
    [=](status_atom) { return status_of(self); },
  };
}

}  // namespace

}  // namespace adclick
