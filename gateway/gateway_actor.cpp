#include "gateway/gateway_actor.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "common/errc.hpp"
#include "actors/core/query_rules.hpp"
#include "gateway/query_engine.hpp"
#include "messages/click_codec.hpp"
#include "messages/type_ids.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

using self_ptr = caf::stateful_actor<gateway_state>*;
using statuses = std::vector<partition_status>;

/// admin inspect counts an ad's stored ids up to this many (about 160 MB of reads).
constexpr std::uint64_t inspect_id_limit = 10'000'000;

/// Asks every owned partition the same question (waiting at most `timeout` for each), then
/// calls `done` with their answers in partition order, which answers `rp`; the first error
/// answers `rp` instead. A read-only question goes with high priority: it is answered
/// ahead of the ingest batches in the partition's mailbox (seconds of them at a high rate).
template <class Answer, caf::message_priority Priority = caf::message_priority::normal, class... Ts>
void gather(self_ptr self, caf::response_promise rp, caf::timespan timeout,
            std::function<void(std::vector<Answer>&, caf::response_promise&)> done, Ts... question) {
  const auto& owned = self->state.owned;
  auto results = std::make_shared<std::vector<Answer>>(owned.size());
  auto remaining = std::make_shared<std::size_t>(owned.size());
  auto finish = [rp, results, done]() mutable { done(*results, rp); };
  if (owned.empty()) return finish();
  std::size_t slot = 0;
  for (const auto& [id, handle] : owned) {
    self->template request<Priority>(handle, timeout, question...)
      .then(
        [=](Answer& a) mutable {
          (*results)[slot] = std::move(a);
          if (--*remaining == 0) finish();
        },
        [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
    ++slot;
  }
}

template <class T>
void with_statuses(self_ptr self, caf::response_promise rp, std::function<void(statuses&, caf::response_promise&)> done) {
  gather<partition_status, caf::message_priority::high>(self, std::move(rp), std::chrono::seconds(5), std::move(done),
                                                        status_atom_v);
}

/// The partition actor that owns `ad_id`, or errc::not_owned if this node does not.
caf::expected<caf::actor> owner_of(self_ptr self, std::uint64_t ad_id) {
  auto p = partition_of(ad_id, self->state.partitions_count);
  auto i = self->state.owned.find(p);
  if (i == self->state.owned.end())
    return make_error(errc::not_owned, "partition " + std::to_string(p) + " is not owned by this node");
  return i->second;
}

/// A store reader: campaign and advertiser series and top-K, read on its own thread (a
/// detached actor) so that a long read (a top-K that falls back to a scan of the rollups)
/// never holds the gateway, which also answers status and readiness.
caf::behavior store_reader(caf::event_based_actor*, store* db) {
  return {
    [=](ad_status& s) -> caf::result<ad_status> {
      auto ids = db->count_ids(s.ad_id, inspect_id_limit);
      if (!ids) return std::move(ids.error());
      s.ids_on_disk = ids->ids;
      s.id_minutes_on_disk = ids->minutes;
      s.ids_on_disk_complete = ids->complete;
      return std::move(s);
    },
    [=](const series_query& q, std::int64_t watermark, std::int64_t final_before) -> caf::result<series> {
      auto s = group_series(*db, q, watermark, final_before);
      if (!s) return std::move(s.error());
      return std::move(*s);
    },
    [=](const top_query& q, std::uint32_t partitions_count, std::int64_t watermark,
        std::int64_t final_before) -> caf::result<top_list> {
      std::vector<std::uint32_t> partitions(partitions_count);
      for (std::uint32_t p = 0; p < partitions_count; ++p) partitions[p] = p;
      auto t = top(*db, q, partitions, watermark, final_before);
      if (!t) return std::move(t.error());
      return std::move(*t);
    },
  };
}

/// Asks the store reader with the fewest reads in flight (one stuck read leaves the other
/// free) and answers `rp` with what it answers.
template <class T, class... Ts>
void read_on_reader(self_ptr self, caf::response_promise& rp, Ts&&... xs) {
  auto& st = self->state;
  std::size_t pick = 0;
  for (std::size_t i = 1; i < st.readers.size(); ++i)
    if (st.in_flight[i] < st.in_flight[pick]) pick = i;
  ++st.in_flight[pick];
  self->request(st.readers[pick], caf::infinite, std::forward<Ts>(xs)...)
    .then(
      [self, rp, pick](T& answer) mutable {
        --self->state.in_flight[pick];
        rp.deliver(std::move(answer));
      },
      [self, rp, pick](caf::error& err) mutable {
        --self->state.in_flight[pick];
        rp.deliver(std::move(err));
      });
}

/// The lowest watermark and final_before of the partitions' durable checkpoints, or
/// errc::recovering.
caf::error durable_edge(const statuses& xs, std::uint32_t partitions_count, std::int64_t& watermark,
                        std::int64_t& final_before) {
  // A campaign's ads spread over every partition: a node with only some of them would
  // answer a part as if it were the whole (scale-out forwards these later).
  if (xs.size() != partitions_count)
    return make_error(errc::bad_request, "this node owns " + std::to_string(xs.size()) + " of " +
                                           std::to_string(partitions_count) +
                                           " partitions: campaign, advertiser and top-K queries need them all");
  watermark = final_before = INT64_MAX;
  for (const auto& s : xs) {
    if (!s.recovered) return make_error(errc::recovering, "partition " + std::to_string(s.partition) + " is recovering");
    watermark = std::min(watermark, s.watermark_ms);
    final_before = std::min(final_before, s.durable_final_before_ms);
  }
  if (xs.empty()) watermark = final_before = 0;
  return {};
}

/// A group's or a ranking's rows go by each partition's watermark: a query is refused if
/// retention at the highest of them has deleted (or may delete) a bucket it asks for.
caf::error check_retained(const statuses& xs, const count_retention& keep,
                          const std::vector<std::pair<granularity, std::int64_t>>& buckets) {
  std::int64_t highest = window_rules::no_watermark;
  for (const auto& s : xs) highest = std::max(highest, s.watermark_ms);
  for (const auto& [g, start] : buckets)
    if (auto why = past_retention(g, start, highest, keep); !why.empty()) return make_error(errc::past_retention, why);
  return {};
}

}  // namespace

caf::behavior gateway_actor(self_ptr self, std::uint32_t partitions_count, std::map<std::uint32_t, caf::actor> owned,
                            store* db, count_retention retention) {
  self->state.partitions_count = partitions_count;
  self->state.retention = retention;
  self->state.owned = std::move(owned);
  self->state.db = db;
  for (int i = 0; i < reader_count; ++i)
    self->state.readers.push_back(self->spawn<caf::detached + caf::linked>(store_reader, db));
  self->state.in_flight.assign(self->state.readers.size(), 0);
  return {
    [=](const series_query& q) -> caf::result<series> {
      if (q.kind == entity::ad) {
        auto owner = owner_of(self, q.id);
        if (!owner) return owner.error();
        self->delegate(*owner, q);
        return caf::delegated<series>{};
      }
      auto rp = self->make_response_promise<series>();
      with_statuses<series>(self, rp, [=](statuses& xs, caf::response_promise& rp) {
        std::int64_t watermark = 0, final_before = 0;
        if (auto err = durable_edge(xs, self->state.partitions_count, watermark, final_before))
          return rp.deliver(std::move(err));
        if (auto err = check_retained(xs, self->state.retention, {{q.gran, q.from_ms}})) return rp.deliver(std::move(err));
        read_on_reader<series>(self, rp, q, watermark, final_before);
      });
      return rp;
    },
    [=](const top_query& q) -> caf::result<top_list> {
      auto rp = self->make_response_promise<top_list>();
      with_statuses<top_list>(self, rp, [=](statuses& xs, caf::response_promise& rp) {
        std::int64_t watermark = 0, final_before = 0;
        if (auto err = durable_edge(xs, self->state.partitions_count, watermark, final_before))
          return rp.deliver(std::move(err));
        if (auto err = check_retained(xs, self->state.retention, cover_with_days_and_hours(q.from_ms, q.to_ms)))
          return rp.deliver(std::move(err));
        read_on_reader<top_list>(self, rp, q, self->state.partitions_count, watermark, final_before);
      });
      return rp;
    },
    [=](inspect_atom, std::uint64_t ad_id) -> caf::result<ad_status> {
      auto owner = owner_of(self, ad_id);
      if (!owner) return owner.error();
      // The partition answers from the ad actor's memory (or the store's recent minutes);
      // its ids on disk are counted on a store reader, off the actors.
      auto rp = self->make_response_promise<ad_status>();
      self->request(*owner, std::chrono::seconds(10), inspect_atom_v, ad_id)
        .then([=](ad_status& s) mutable { read_on_reader<ad_status>(self, rp, std::move(s)); },
              [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](passivate_atom, std::uint64_t ad_id) -> caf::result<passivate_report> {
      auto owner = owner_of(self, ad_id);
      if (!owner) return owner.error();
      self->delegate(*owner, passivate_atom_v, ad_id);
      return caf::delegated<passivate_report>{};
    },
    [=](hot_atom, std::uint32_t k) -> caf::result<std::vector<hot_ad>> {
      auto rp = self->make_response_promise<std::vector<hot_ad>>();
      gather<std::vector<hot_ad>>(
        self, rp, std::chrono::seconds(5),
        [k](std::vector<std::vector<hot_ad>>& parts, caf::response_promise& rp) {
          std::vector<hot_ad> all;
          for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
          std::sort(all.begin(), all.end(), [](const hot_ad& a, const hot_ad& b) {
            return a.clicks_per_s != b.clicks_per_s ? a.clicks_per_s > b.clicks_per_s : a.ad_id < b.ad_id;
          });
          if (all.size() > k) all.resize(k);
          rp.deliver(std::move(all));
        },
        hot_atom_v, k);
      return rp;
    },
    [=](sync_atom) -> caf::result<std::vector<checkpoint_report>> {
      auto rp = self->make_response_promise<std::vector<checkpoint_report>>();
      gather<checkpoint_report>(
        self, rp, std::chrono::seconds(60),
        [](std::vector<checkpoint_report>& xs, caf::response_promise& rp) { rp.deliver(std::move(xs)); }, sync_atom_v);
      return rp;
    },
    [=](status_atom) -> caf::result<statuses> {
      auto rp = self->make_response_promise<statuses>();
      with_statuses<statuses>(self, rp, [](statuses& xs, caf::response_promise& rp) { rp.deliver(std::move(xs)); });
      return rp;
    },
  };
}

}  // namespace adclick
