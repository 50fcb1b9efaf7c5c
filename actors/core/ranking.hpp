// Exact top-K from per-partition rankings. Pure logic, no CAF and no storage.
//
// Each partition keeps, per hour and day and per kind (ad, campaign, advertiser), a
// ranking (messages/types.hpp): its `ranking_capacity` highest counts exactly, and
// `unlisted_max`, a bound on the count of anything not listed. ranking_keeper maintains it
// as counts grow. Counts only ever grow, so the bound holds: an entry leaves the list only
// when a higher one pushes it out (its count goes into the bound), and an unlisted
// entity's new count either enters the list or raises the bound.
//
// top_k() merges the rankings of every (bucket, partition) a range covers, the threshold
// way (Fagin): the ids listed in the first `depth` entries of any ranking are the
// candidates, their exact totals come from the stored rollups (total_of), and anything
// else totals at most the sum of the rankings' bounds at that depth. When the k-th
// candidate exceeds that sum the answer is proven exact; otherwise the caller asks again
// deeper, and past the full rankings falls back to a scan of the rollups.
// Ties are broken by id, ascending.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <tuple>
#include <set>
#include <unordered_map>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

/// How many entries a ranking keeps: the largest k a query may ask for.
constexpr std::size_t ranking_capacity = 1000;

/// True if `a` ranks before `b`: the higher count, then the lower id.
inline bool ranks_before(const ranked& a, const ranked& b) {
  return a.count != b.count ? a.count > b.count : a.id < b.id;
}

/// A ranking kept up to date in memory: O(log n) per update, O(1) for the common update
/// of an entity that stays below the list.
class ranking_keeper {
 public:
  /// Starts from a stored ranking (or an empty one naming its bucket).
  explicit ranking_keeper(const ranking& stored, std::size_t capacity = ranking_capacity);

  /// `id`'s count in the bucket is now `count` (never lower than before).
  void update(std::uint64_t id, std::uint64_t count);

  /// The ranking as stored: the list in rank order and the bound.
  ranking snapshot() const;

 private:
  struct order {
    bool operator()(const ranked& a, const ranked& b) const { return ranks_before(a, b); }
  };
  ranking head_;  ///< by, gran, start_ms
  std::size_t capacity_;
  std::set<ranked, order> list_;
  std::unordered_map<std::uint64_t, std::uint64_t> listed_;  ///< id -> count in list_
  std::uint64_t unlisted_max_ = 0;
};

/// One partition's rankings of the hours and days its checkpoints touch, seeded from the
/// store on first touch, written whole when changed (group_rollups keeps shares the same way).
class ranking_book {
 public:
  /// Reads a ranking that is not in memory (an empty one if none is stored); nullopt if
  /// the read failed. `r`'s by, gran and start_ms name it.
  using seed_fn = std::function<bool(ranking& r)>;

  /// `id`'s count in the hour or day (`g`, `start_ms`) is now `count`. False if the seed
  /// read failed (nothing applied).
  bool update(entity by, granularity g, std::int64_t start_ms, std::uint64_t id, std::uint64_t count,
              const seed_fn& seed);

  /// The rankings changed since the previous call.
  std::vector<ranking> take_changes();

  /// Forgets rankings with no change in the last `idle_takes` take_changes: call it when
  /// every take so far is durable.
  /// Returns how many it forgot.
  std::size_t drop_settled(std::uint64_t idle_takes);

  std::size_t size() const { return books_.size(); }

 private:
  struct entry {
    ranking_keeper keeper;
    bool changed = false;
    std::uint64_t last_take = 0;
  };
  std::map<std::tuple<entity, granularity, std::int64_t>, entry> books_;
  std::uint64_t takes_ = 0;
};

struct top_answer {
  std::vector<ranked> top;  ///< at most k, in rank order
  bool exact = false;       ///< proven exact; otherwise ask deeper or scan
};

/// The top `k` of the sums over `lists` (see above). `total_of(id)` is an id's exact total
/// over the whole range. Only the first `depth` entries of each list are candidates.
top_answer top_k(const std::vector<ranking>& lists, std::size_t k, std::size_t depth,
                 const std::function<std::uint64_t(std::uint64_t id)>& total_of);

/// The top `k` of exact totals (any order in), ties by id: the reference and the fallback.
std::vector<ranked> top_of(std::vector<ranked> totals, std::size_t k);

}  // namespace adclick
