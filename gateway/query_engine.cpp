#include "gateway/query_engine.hpp"

#include <map>

#include "actors/core/query_rules.hpp"
#include "actors/core/ranking.hpp"
#include "actors/core/rollup.hpp"
#include "common/errc.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

/// Sums every partition's shares of a group's buckets of `g` in [from, to), by start.
caf::error group_buckets(store& db, entity kind, std::uint64_t id, granularity g, std::int64_t from_ms,
                         std::int64_t to_ms, std::map<std::int64_t, rollup_value>& out,
                         const store::snapshot* at = nullptr) {
  return db.scan_group(
    kind, id, g, from_ms, to_ms, [&](std::int64_t start, std::uint32_t, const rollup_value& v) { out[start] += v; }, at);
}

/// An entity's count over the buckets of `cover` (days and hours).
caf::expected<std::uint64_t> total_of(store& db, entity by, std::uint64_t id,
                                      const std::vector<std::pair<granularity, std::int64_t>>& cover,
                                      const store::snapshot* at) {
  std::uint64_t total = 0;
  // Consecutive buckets of one granularity are one range scan.
  for (std::size_t i = 0; i < cover.size();) {
    const auto g = cover[i].first;
    const auto from = cover[i].second;
    std::size_t j = i + 1;
    while (j < cover.size() && cover[j].first == g) ++j;
    const auto to = cover[j - 1].second + bucket_width(g);
    if (by == entity::ad) {
      std::vector<std::pair<std::int64_t, rollup_value>> rolled;
      if (auto err = db.scan_rollups(id, g, from, to, rolled, at)) return err;
      for (const auto& [start, v] : rolled) total += v.count;
    } else {
      std::map<std::int64_t, rollup_value> sums;
      if (auto err = group_buckets(db, by, id, g, from, to, sums, at)) return err;
      for (const auto& [start, v] : sums) total += v.count;
    }
    i = j;
  }
  return total;
}

}  // namespace

caf::expected<series> group_series(store& db, const series_query& q, std::int64_t watermark_ms,
                                   std::int64_t final_before_ms) {
  // The shares first, then what retention deleted (in any partition): a share deleted
  // before the floor is read is below it.
  auto exists = db.group_exists(q.kind, q.id);
  if (!exists) return exists.error();
  std::map<std::int64_t, rollup_value> sums;
  if (*exists)
    if (auto err = group_buckets(db, q.kind, q.id, q.gran, q.from_ms, q.to_ms, sums)) return err;
  auto floor = db.highest_count_floor();
  if (!floor) return floor.error();
  if (auto why = deleted_by_retention(q.gran, q.from_ms, *floor); !why.empty())
    return make_error(errc::past_retention, why);
  if (!*exists)
    return make_error(errc::not_found, std::string{to_string(q.kind)} + " " + std::to_string(q.id) +
                                         " has counted no click");
  series out;
  out.kind = q.kind;
  out.id = q.id;
  out.watermark_ms = watermark_ms;
  out.final_before_ms = final_before_ms;
  std::vector<rollup_count> rolled;
  rolled.reserve(sums.size());
  for (const auto& [start, v] : sums) rolled.push_back({q.gran, start, v});
  // A group's minute is as final as its ad-minutes (open_minutes) and the watermark say.
  out.points = points_of(rolled, q.gran, final_before_ms, q.billing);
  return out;
}

caf::expected<top_list> top(store& db, const top_query& q, const std::vector<std::uint32_t>& partitions,
                            std::int64_t watermark_ms, std::int64_t final_before_ms) {
  top_list out;
  out.query = q;
  out.watermark_ms = watermark_ms;
  // Billing counts the hours that are final (and only durable counts are read).
  const auto to = q.billing ? std::min(q.to_ms, bucket_start(final_before_ms, hour_ms)) : q.to_ms;
  if (to <= q.from_ms) return out;
  const auto cover = cover_with_days_and_hours(q.from_ms, to);
  // One view of the store for the whole answer: the rankings and the totals that prove
  // them must not straddle a checkpoint.
  auto at = db.take_snapshot();
  // Every bucket read must be whole in every partition (the snapshot's floors).
  auto floor = db.highest_count_floor(at.get());
  if (!floor) return floor.error();
  for (const auto& [g, start] : cover)
    if (auto why = deleted_by_retention(g, start, *floor); !why.empty()) return make_error(errc::past_retention, why);
  std::vector<ranking> lists;
  lists.reserve(cover.size() * partitions.size());
  for (const auto& [g, start] : cover)
    for (auto p : partitions) {
      ranking r{q.by, g, start, {}, 0};
      if (auto err = db.read_ranking(p, r, at.get())) return err;
      if (!r.top.empty() || r.unlisted_max != 0) lists.push_back(std::move(r));
    }
  caf::error failed;
  auto exact_total = [&](std::uint64_t id) -> std::uint64_t {
    auto t = total_of(db, q.by, id, cover, at.get());
    if (!t) {
      failed = t.error();
      return 0;
    }
    return *t;
  };
  // Deeper until proven; the full rankings are the last try before summing everything.
  for (std::size_t depth = q.k;; depth = std::min(depth * 4, ranking_capacity)) {
    auto answer = top_k(lists, q.k, depth, exact_total);
    if (failed) return failed;
    out.depth = static_cast<std::uint32_t>(depth);
    if (answer.exact) {
      out.top = std::move(answer.top);
      return out;
    }
    if (depth >= ranking_capacity) break;
  }
  // Not provable from the rankings (a flat distribution): sum the rollups of every
  // entity that ever counted. Exact, and slow in proportion to the number of entities.
  std::vector<std::uint64_t> ids;
  caf::error err = q.by == entity::ad
                     ? db.scan_owners([&](std::uint64_t ad, const store::owner&) { ids.push_back(ad); }, at.get())
                     : db.scan_group_ids(q.by, [&](std::uint64_t id) { ids.push_back(id); }, at.get());
  if (err) return err;
  std::vector<ranked> totals;
  totals.reserve(ids.size());
  for (auto id : ids) {
    auto t = exact_total(id);
    if (failed) return failed;
    if (t != 0) totals.push_back({id, t});
  }
  out.top = top_of(std::move(totals), q.k);
  out.scanned = true;
  return out;
}

}  // namespace adclick
