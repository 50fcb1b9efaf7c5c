#include "actors/core/delta_merge.hpp"

#include <algorithm>
#include <map>

namespace adclick {

namespace {
/// Merges two lists of per-minute rows (each ordered by minute or not), `fold` deciding
/// what happens to a minute present in both; the result is ordered by minute.
template <class Row, class Fold>
void merge_by_minute(std::vector<Row>& older, std::vector<Row>&& newer, Fold fold) {
  std::map<std::int64_t, Row> rows;
  for (auto& r : older) rows.emplace(r.minute_ms, std::move(r));
  for (auto& r : newer) {
    auto [it, fresh] = rows.try_emplace(r.minute_ms);
    if (fresh) it->second = std::move(r);
    else fold(it->second, std::move(r));
  }
  older.clear();
  for (auto& [minute, r] : rows) older.push_back(std::move(r));
}
}  // namespace

void merge_delta(ad_delta& older, ad_delta&& newer) {
  auto newer_wins = [](auto& mine, auto&& theirs) { mine = std::move(theirs); };
  merge_by_minute(older.minutes, std::move(newer.minutes), newer_wins);
  merge_by_minute(older.filters, std::move(newer.filters), newer_wins);
  merge_by_minute(older.runs, std::move(newer.runs), newer_wins);  // (a runs row is whole)
  merge_by_minute(older.ids, std::move(newer.ids), [](minute_ids& mine, minute_ids&& theirs) {
    mine.ids.insert(mine.ids.end(), theirs.ids.begin(), theirs.ids.end());
    std::sort(mine.ids.begin(), mine.ids.end());
  });
  merge_by_minute(older.changes, std::move(newer.changes), [](minute_change& mine, minute_change&& theirs) {
    mine.count += theirs.count;
    mine.open_minutes += theirs.open_minutes;
    mine.amendments += theirs.amendments;
  });
  std::map<std::pair<granularity, std::int64_t>, rollup_count> rolled;
  for (auto* side : {&older.rollups, &newer.rollups})
    for (auto& r : *side) rolled[{r.gran, r.start_ms}] = r;  // newer last: it wins
  older.rollups.clear();
  for (auto& [k, r] : rolled) older.rollups.push_back(r);
  older.campaign_id = newer.campaign_id;
  older.advertiser_id = newer.advertiser_id;
  older.new_owner = older.new_owner || newer.new_owner;
  older.owner_conflicts += newer.owner_conflicts;
  older.counted += newer.counted;
  older.duplicates += newer.duplicates;
  older.amended += newer.amended;
}

}  // namespace adclick
