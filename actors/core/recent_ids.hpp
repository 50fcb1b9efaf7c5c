// The recent-id set of one ad (the design card's dedup): the click ids it has counted,
// grouped by event minute, exact on all 16 bytes (DESIGN 4.2).
//
// A duplicate is a republish of the same click, so it carries the same event time: ids are
// kept per minute, which makes the set cheap to trim (a whole minute at a time) and lets a
// late click consult only its own minute.
//
// Sequenced ids (the recommended layout, actors/core/id_runs) are kept exactly, as runs
// of consecutive sequences, for every minute in memory: a repeat is answered from memory,
// never from the store, at a byte per click or less.
//
// Any other id takes the general path. Per minute, memory holds exactly only the ids of
// recent arrivals, in two generations (young, old); every id of the minute, recent or
// not, is in its id filter. rotate() drops the old generation and ages the young one: the
// caller rotates just before a take_changes() and only when every earlier take is
// durable, so a dropped id is always in the store. An id the filter rules out is new; one
// in a generation is a duplicate; any other id the filter may hold needs one lookup in
// the store (insert() says need_lookup, resolve() takes the answer), unless every id of
// the minute is still in the generations (a minute that neither lost a generation nor
// came from the store). A false positive costs a lookup, never a click.
//
// What the store keeps (persistence/FORMAT.md): the general path's ids as chunks
// (take_changes), the sequenced ids of each (ad, minute) as one runs row rewritten whole
// when they grow (take_runs_changes), and for a final minute a filter row (stored()).
// Minutes that leave the hot horizon are dropped whole once durable; they come back from
// the store as their ids (load(), load_stored()) or as a final minute's filter row and
// runs row. A minute stored before runs existed has its sequenced ids in its filter (and
// its chunks): those take the general path's filter and lookup too. Pure state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/types.hpp"
#include "actors/core/id_filter.hpp"
#include "actors/core/id_runs.hpp"
#include "actors/core/id_set.hpp"

namespace adclick {

class recent_ids {
 public:
  /// The most minters an ad's runs name at once; the sequenced ids of any more take the
  /// general path (and mark their minute so: see minute_set::runs_complete).
  static constexpr std::size_t max_minters = 4096;

  /// True if `minute` is in memory (counted here, or loaded from storage).
  bool has(std::int64_t minute) const;

  /// Puts ids read from the chunks of `minute` in memory, into its filter only (whatever
  /// their layout: stored_minute::add). Not a change. With no ids, marks the minute as in
  /// memory.
  void load(std::int64_t minute, const std::vector<click_id>& ids);

  /// What the store holds of a minute, to load it (persistence/FORMAT.md): a filter of its
  /// ids on the general path (ids from chunks, whatever their layout), and the runs of its
  /// runs row (and of a format-5 filter row).
  struct stored_minute {
    id_filter filter;
    id_runs runs;  ///< (under minute 0)
    /// False if the filter may hold sequenced ids too (ids from chunks, a filter stored
    /// before runs existed, or ids past max_minters).
    bool runs_complete = true;
    /// Adds one id read from the chunks: to the filter, sequenced or not (a lookup finds it
    /// there).
    void add(const click_id& id);
    /// Adds runs read from a runs row or a filter row.
    void add_runs(const std::vector<id_span>& spans);
    std::size_t size() const { return filter.size() + runs.size(); }  ///< the ids it holds
    /// The fewest distinct ids it can hold (what a bucket's count is checked against): a
    /// filter that may hold sequenced ids (runs_complete false) may hold some of the runs'
    /// too, so then only the larger part is sure.
    std::size_t distinct_at_least() const { return runs_complete ? size() : std::max(filter.size(), runs.size()); }
  };
  /// Parses a filter row: what stored() writes, what it wrote before runs rows (with the
  /// minute's runs in it) or a bare id filter (format 5 before runs); nullopt for anything
  /// else.
  static std::optional<stored_minute> parse_stored(std::string_view bytes);
  /// Parses a runs row (take_runs_changes); nullopt if it is not one.
  static std::optional<std::vector<id_span>> parse_runs(std::string_view bytes);
  /// Puts a stored minute in memory. Not a change. Runs of minters past max_minters (the
  /// ad's runs name as many already) are kept apart, exactly, and stay in the minute's rows.
  void load_stored(std::int64_t minute, stored_minute m);
  /// Same, from a bare filter (which may hold sequenced ids: they take the general path).
  void load_filter(std::int64_t minute, id_filter filter);

  enum class insert_result { added, duplicate, need_lookup };
  /// Records `id` in `minute` (which must be in memory, or be new: see has/load).
  /// `duplicate` if it was seen before; `need_lookup` if it may be stored and is not in
  /// memory: ask the store whether it holds the id, and resolve().
  insert_result insert(std::int64_t minute, const click_id& id);
  /// The end of an insert that needed a lookup: `stored` is the store's answer.
  /// `duplicate` if stored, else the id is recorded (`added`).
  insert_result resolve(std::int64_t minute, const click_id& id, bool stored);

  /// Drops the old generation of every minute and ages the young one. Call it right
  /// before take_changes(), and only when everything taken before is durable: the old
  /// generation was young at the previous rotate(), so the take after it has its ids.
  void rotate();

  /// The filter row of `minute`, to store when the minute is final (parse_stored() reads
  /// it): the filter of its ids on the general path, and whether its sequenced ids are all
  /// in its runs (which stay in its runs row); nullopt if the minute is not in memory (what
  /// it holds might miss some ids).
  std::optional<std::string> stored(std::int64_t minute) const;

  /// The ids recorded on the general path since the last call, per minute, sorted: what
  /// the next checkpoint must persist as id chunks.
  std::vector<minute_ids> take_changes();
  /// The runs row of every minute whose runs grew since the last call, whole (each
  /// replaces the minute's last one), by minute. Call it with take_changes().
  std::vector<minute_runs> take_runs_changes();

  /// Drops the given minutes from memory, each only if its ids are all durable (taken by
  /// take_changes and take_runs_changes).
  void drop(const std::vector<std::int64_t>& minutes);

  std::size_t ids_in_memory() const;  ///< in the generations (exact ids of the general path)
  std::size_t sequenced_ids() const { return runs_.size(); }
  /// The heap this set holds, by part (bench/dedup_model prints it).
  struct memory_use {
    std::size_t records = 0;      ///< the per-minute records themselves
    std::size_t generations = 0;  ///< the exact sets of recent ids
    std::size_t filters = 0;      ///< the id filters
    std::size_t runs = 0;         ///< the sequenced ids
    std::size_t untaken = 0;      ///< ids recorded since the last take_changes
    std::size_t total() const { return records + generations + filters + runs + untaken; }
  };
  memory_use memory() const;
  std::size_t memory_bytes() const { return memory().total(); }

 private:
  // Kept small: an ad has one per open minute with ids of the general path (100k ads x
  // a few minutes at steady state), and most hold a few ids. Minutes sit in a vector in
  // minute order (a handful per ad), generations are allocated only while they hold ids,
  // and the ids not yet taken are kept per ad, not per minute. A minute of sequenced ids
  // alone has no record: its runs say it is in memory.
  // A minute's record is 48 bytes: 100k ads x 11 open minutes of them is 53 MB, half a
  // byte per click at 150k clicks/s (bench_dedup_model).
  struct generations {
    id_set young, old;  ///< recent arrivals, exact
  };
  struct minute_set {
    std::int64_t minute = 0;
    std::unique_ptr<generations> recent;  ///< null while both are empty
    id_filter filter;                     ///< every id of the minute on the general path
    bool complete = true;                 ///< every such id is in the generations
    /// No sequenced id of the minute is on the general path (in the filter or the
    /// generations): false for a filter stored before runs, or an id past max_minters.
    bool runs_complete = true;
  };
  /// The minute's set, created with a filter sized like the minute before it.
  minute_set& at(std::int64_t minute);
  const minute_set* find(std::int64_t minute) const;
  /// Records a new id of `minute`.
  void record(std::int64_t minute, const click_id& id);
  void mark_runs_changed(std::int64_t minute);
  /// What the runs row of `minute` holds: its runs and its overflow, joined.
  std::vector<id_span> row_of(std::int64_t minute) const;
  /// Loaded runs whose minters the runs could not take (max_minters): the minute's, by
  /// (minter, first), with the minter in full (24 bytes a run). Rare: an ad whose ids only
  /// look sequenced.
  struct overflow_run {
    std::int64_t minute;
    id_span span;
    friend bool operator<(const overflow_run& a, const overflow_run& b) {
      if (a.minute != b.minute) return a.minute < b.minute;
      if (a.span.minter != b.span.minter) return a.span.minter < b.span.minter;
      return a.span.first < b.span.first;
    }
  };
  bool in_overflow(std::int64_t minute, const sequenced_id& id) const;
  /// True if an id of `minute` is not yet taken.
  bool untaken(std::int64_t minute) const;
  static bool in_generations(const minute_set& m, const click_id& id);

  std::vector<minute_set> minutes_;                        ///< by minute
  id_runs runs_;                                           ///< the sequenced ids
  std::vector<std::pair<std::int64_t, click_id>> fresh_;  ///< (minute, id) not yet taken
  std::vector<std::int64_t> runs_changed_;                 ///< minutes whose runs row must be written
  std::vector<overflow_run> overflow_;                     ///< by (minute, minter, first)
};

}  // namespace adclick
