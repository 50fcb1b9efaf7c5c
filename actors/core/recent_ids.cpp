#include "actors/core/recent_ids.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "persistence/key_codec.hpp"

namespace adclick {

static_assert(sizeof(id_filter) <= 24, "an id filter is in every minute record: keep it small");

namespace {
auto by_minute = [](const auto& m, std::int64_t minute) { return m.minute < minute; };

}  // namespace

recent_ids::minute_set& recent_ids::at(std::int64_t minute) {
  static_assert(sizeof(minute_set) <= 48, "a record per (ad, open minute): keep it small");
  auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute, by_minute);
  if (it != minutes_.end() && it->minute == minute) return *it;
  // A minute usually gets about what the one before it got: size its filter for that,
  // with three standard deviations of a Poisson count to spare, so that it stays one
  // stage (a quarter more held 8% more filter memory: bench_dedup_model, 2026-11-29).
  std::size_t expected = 0;
  if (it != minutes_.begin()) {
    const auto previous = std::prev(it)->filter.size();
    expected = previous + 3 * static_cast<std::size_t>(std::sqrt(static_cast<double>(previous))) + 2;
  }
  minute_set m;
  m.minute = minute;
  m.filter = id_filter{expected};
  runs_.drop_if_empty(minute);  // (the record says it is in memory now: 16 bytes less)
  return *minutes_.insert(it, std::move(m));
}

const recent_ids::minute_set* recent_ids::find(std::int64_t minute) const {
  auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute, by_minute);
  return it != minutes_.end() && it->minute == minute ? &*it : nullptr;
}

bool recent_ids::has(std::int64_t minute) const { return find(minute) != nullptr || runs_.has(minute); }

void recent_ids::stored_minute::add(const click_id& id) {
  // An id from the chunks takes the general path whatever its layout (a sequenced one was
  // written there by format 5, or past max_minters): a lookup finds it in the chunks.
  if (as_sequenced(id)) runs_complete = false;
  filter.add(id);
}

void recent_ids::stored_minute::add_runs(const std::vector<id_span>& spans) {
  for (const auto& r : spans) runs.insert_span(0, r);
}

void recent_ids::load(std::int64_t minute, const std::vector<click_id>& ids) {
  stored_minute m{id_filter{ids.size() + ids.size() / 4}, {}, true};
  for (const auto& id : ids) m.add(id);
  load_stored(minute, std::move(m));
}

void recent_ids::load_stored(std::int64_t minute, stored_minute stored) {
  runs_.touch(minute);
  std::size_t overflowing = 0;
  for (const auto& r : stored.runs.spans(0)) {
    if (runs_.knows(r.minter) || runs_.minters() < max_minters) {
      runs_.insert_span(minute, r);
    } else {
      // Past the cap: kept apart, exactly (the runs row holds them, and the minute's next
      // row, written from memory, must too: take_runs_changes).
      overflow_.push_back({minute, r});
      ++overflowing;
    }
  }
  if (overflowing != 0) {
    std::sort(overflow_.begin(), overflow_.end());
    // (A minute loaded again after some of its runs were recorded: join what touches.)
    std::vector<overflow_run> joined;
    joined.reserve(overflow_.size());
    for (const auto& o : overflow_) {
      if (!joined.empty() && joined.back().minute == o.minute && joined.back().span.minter == o.span.minter &&
          o.span.first <= std::uint64_t{joined.back().span.last} + 1)
        joined.back().span.last = std::max(joined.back().span.last, o.span.last);
      else
        joined.push_back(o);
    }
    overflow_ = std::move(joined);
  }
  if (stored.filter.size() == 0 && stored.runs_complete) return;
  auto& m = at(minute);
  m.filter.absorb(std::move(stored.filter));  // (ids recorded here already, if any, stay in it)
  m.complete = false;
  m.runs_complete = m.runs_complete && stored.runs_complete;
}

bool recent_ids::in_overflow(std::int64_t minute, const sequenced_id& id) const {
  const overflow_run key{minute, {id.minter, id.sequence, ~std::uint32_t{0}}};
  auto it = std::upper_bound(overflow_.begin(), overflow_.end(), key);
  if (it == overflow_.begin()) return false;
  --it;
  return it->minute == minute && it->span.minter == id.minter && it->span.first <= id.sequence &&
         id.sequence <= it->span.last;
}

void recent_ids::mark_runs_changed(std::int64_t minute) {
  if (std::find(runs_changed_.begin(), runs_changed_.end(), minute) == runs_changed_.end())
    runs_changed_.push_back(minute);
}

void recent_ids::load_filter(std::int64_t minute, id_filter filter) {
  load_stored(minute, stored_minute{std::move(filter), {}, false});
}

bool recent_ids::in_generations(const minute_set& m, const click_id& id) {
  return m.recent && (m.recent->young.contains(id) || m.recent->old.contains(id));
}

recent_ids::insert_result recent_ids::insert(std::int64_t minute, const click_id& id) {
  if (auto s = as_sequenced(id)) {
    if (runs_.contains(minute, *s)) return insert_result::duplicate;
    if (!overflow_.empty() && in_overflow(minute, *s)) return insert_result::duplicate;
    // Exact, unless the minute's sequenced ids are not all in the runs: some then are on
    // the general path (a filter stored before runs, or ids of minters past max_minters).
    const auto* m = find(minute);
    if (m && !m->runs_complete) {
      if (in_generations(*m, id)) return insert_result::duplicate;
      if (m->filter.may_contain(id)) return insert_result::need_lookup;
    }
    record(minute, id);
    return insert_result::added;
  }
  auto& m = at(minute);
  if (in_generations(m, id)) return insert_result::duplicate;
  if (!m.complete && m.filter.may_contain(id)) return insert_result::need_lookup;
  record(minute, id);
  return insert_result::added;
}

recent_ids::insert_result recent_ids::resolve(std::int64_t minute, const click_id& id, bool stored) {
  if (stored) return insert_result::duplicate;
  record(minute, id);
  return insert_result::added;
}

void recent_ids::record(std::int64_t minute, const click_id& id) {
  const auto s = as_sequenced(id);
  if (s && (runs_.knows(s->minter) || runs_.minters() < max_minters)) {
    runs_.insert(minute, *s);
    mark_runs_changed(minute);
  } else {
    // Not sequenced; or of one minter too many: ids that only look sequenced (a 64-bit id
    // padded with zeros names a new minter per click) stay as cheap as any other id.
    auto& m = at(minute);
    if (s) m.runs_complete = false;
    m.filter.add(id);
    if (!m.recent) m.recent = std::make_unique<generations>();
    m.recent->young.insert(id);
    fresh_.emplace_back(minute, id);
  }
}

bool recent_ids::untaken(std::int64_t minute) const {
  return std::any_of(fresh_.begin(), fresh_.end(), [&](const auto& f) { return f.first == minute; }) ||
         std::find(runs_changed_.begin(), runs_changed_.end(), minute) != runs_changed_.end();
}

void recent_ids::rotate() {
  for (auto& m : minutes_) {
    if (!m.recent) continue;
    if (m.recent->old.size() > 0) m.complete = false;
    // The generation that leaves frees its slots: reusing them for the next young one
    // saved regrowth but held 14% more dedup memory at steady state (steady benchmark,
    // 2026-11-29: 8.70 against 7.64 bytes per id).
    m.recent->old = std::exchange(m.recent->young, id_set{});
    if (m.recent->old.size() == 0) m.recent.reset();
  }
}

std::optional<std::string> recent_ids::stored(std::int64_t minute) const {
  const auto* m = find(minute);
  if (!m && !runs_.has(minute)) return std::nullopt;
  // (The minute's runs stay in its runs row: a filter row of this format holds none. A
  // minute of sequenced ids alone still gets one, a few bytes: a late click then reads it
  // and the runs row, two Gets, instead of scanning for chunks it does not have.)
  return keys::encode_filter_row(!m || m->runs_complete, m ? m->filter.serialize() : id_filter{}.serialize(), {});
}

std::optional<recent_ids::stored_minute> recent_ids::parse_stored(std::string_view in) {
  keys::filter_row row;
  if (!keys::decode_filter_row(in, row)) return std::nullopt;
  auto filter = id_filter::parse(row.filter);
  if (!filter) return std::nullopt;
  stored_minute out{std::move(*filter), {}, row.runs_complete};
  // (Runs in a filter row were written by format 5, whose chunks hold them too: the
  // minute's next runs row holds them only if it gains a sequenced id, and otherwise a
  // reload that finds its rows short reads its chunks.)
  out.add_runs(row.runs);
  return out;
}

std::optional<std::vector<id_span>> recent_ids::parse_runs(std::string_view in) {
  std::vector<id_span> out;
  if (!keys::decode_runs_row(in, out)) return std::nullopt;
  return out;
}

std::vector<minute_ids> recent_ids::take_changes() {
  std::vector<minute_ids> out;
  if (fresh_.empty()) return out;
  std::sort(fresh_.begin(), fresh_.end());
  for (const auto& [minute, id] : fresh_) {
    if (out.empty() || out.back().minute_ms != minute) out.push_back({minute, {}});
    out.back().ids.push_back(id);
  }
  decltype(fresh_){}.swap(fresh_);  // (`fresh_ = {}` would keep its capacity)
  return out;
}

std::vector<minute_runs> recent_ids::take_runs_changes() {
  std::sort(runs_changed_.begin(), runs_changed_.end());
  runs_changed_.erase(std::unique(runs_changed_.begin(), runs_changed_.end()), runs_changed_.end());
  std::vector<minute_runs> out;
  out.reserve(runs_changed_.size());
  for (auto minute : runs_changed_) out.push_back({minute, keys::encode_runs_row(row_of(minute))});
  decltype(runs_changed_){}.swap(runs_changed_);
  return out;
}

std::vector<id_span> recent_ids::row_of(std::int64_t minute) const {
  auto row = runs_.spans(minute);
  auto it = std::lower_bound(overflow_.begin(), overflow_.end(), minute,
                             [](const overflow_run& o, std::int64_t m) { return o.minute < m; });
  if (it == overflow_.end() || it->minute != minute) return row;
  for (; it != overflow_.end() && it->minute == minute; ++it) row.push_back(it->span);
  // Sorted by (minter, first), disjoint and apart, as a row must be: a minter may be in
  // both (forgotten by the runs, then recorded again).
  std::sort(row.begin(), row.end(), [](const id_span& a, const id_span& b) {
    return a.minter != b.minter ? a.minter < b.minter : a.first < b.first;
  });
  std::vector<id_span> joined;
  for (const auto& r : row) {
    if (!joined.empty() && joined.back().minter == r.minter && r.first <= std::uint64_t{joined.back().last} + 1)
      joined.back().last = std::max(joined.back().last, r.last);
    else
      joined.push_back(r);
  }
  return joined;
}

void recent_ids::drop(const std::vector<std::int64_t>& minutes) {
  for (auto minute : minutes) {
    if (untaken(minute)) continue;
    runs_.drop(minute);
    overflow_.erase(std::remove_if(overflow_.begin(), overflow_.end(),
                                   [&](const overflow_run& o) { return o.minute == minute; }),
                    overflow_.end());
    if (overflow_.empty()) decltype(overflow_){}.swap(overflow_);
    auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute, by_minute);
    if (it != minutes_.end() && it->minute == minute) minutes_.erase(it);
  }
}

std::size_t recent_ids::ids_in_memory() const {
  std::size_t n = 0;
  for (const auto& m : minutes_)
    if (m.recent) n += m.recent->young.size() + m.recent->old.size();
  return n;
}

recent_ids::memory_use recent_ids::memory() const {
  memory_use u;
  u.records = minutes_.capacity() * sizeof(minute_set);
  u.untaken = fresh_.capacity() * sizeof(fresh_[0]) + runs_changed_.capacity() * sizeof(runs_changed_[0]);
  for (const auto& m : minutes_) {
    if (m.recent) u.generations += sizeof(generations) + m.recent->young.memory_bytes() + m.recent->old.memory_bytes();
    u.filters += m.filter.memory_bytes();
  }
  u.runs = runs_.memory_bytes() + overflow_.capacity() * sizeof(overflow_run);
  return u;
}

}  // namespace adclick
