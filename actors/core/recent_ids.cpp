#include "actors/core/recent_ids.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "persistence/bytes.hpp"

namespace adclick {

static_assert(sizeof(id_filter) <= 24, "an id filter is in every minute record: keep it small");

namespace {
auto by_minute = [](const auto& m, std::int64_t minute) { return m.minute < minute; };

// What stored() writes for a minute with sequenced ids (persistence/FORMAT.md, id
// filter); one without them stores its bare filter (tag 0xB1), as before runs.
constexpr std::uint8_t stored_tag = 0xB2;
constexpr std::uint8_t runs_complete_flag = 1;
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
  const auto s = as_sequenced(id);
  if (s && (runs.knows(s->minter) || runs.minters() < max_minters)) {
    runs.insert(0, *s);
  } else {
    if (s) runs_complete = false;  // (past the cap, as record() does: see max_minters)
    filter.add(id);
  }
}

void recent_ids::load(std::int64_t minute, const std::vector<click_id>& ids) {
  stored_minute m{id_filter{ids.size() + ids.size() / 4}, {}, true};
  for (const auto& id : ids) m.add(id);
  load_stored(minute, std::move(m));
}

void recent_ids::load_stored(std::int64_t minute, stored_minute stored) {
  runs_.touch(minute);
  for (const auto& r : stored.runs.spans(0)) {
    if (runs_.knows(r.minter) || runs_.minters() < max_minters) {
      runs_.insert_span(minute, r);
    } else {  // past the cap: on the general path, as record() would have put them
      for (std::uint64_t q = r.first; q <= r.last; ++q) stored.filter.add(to_click_id({r.minter, static_cast<std::uint32_t>(q)}));
      stored.runs_complete = false;
    }
  }
  if (stored.filter.size() == 0 && stored.runs_complete) return;
  auto& m = at(minute);
  m.filter.absorb(std::move(stored.filter));  // (ids recorded here already, if any, stay in it)
  m.complete = false;
  m.runs_complete = m.runs_complete && stored.runs_complete;
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
  } else {
    // Not sequenced; or of one minter too many: ids that only look sequenced (a 64-bit id
    // padded with zeros names a new minter per click) stay as cheap as any other id.
    auto& m = at(minute);
    if (s) m.runs_complete = false;
    m.filter.add(id);
    if (!m.recent) m.recent = std::make_unique<generations>();
    m.recent->young.insert(id);
  }
  fresh_.emplace_back(minute, id);
}

bool recent_ids::untaken(std::int64_t minute) const {
  return std::any_of(fresh_.begin(), fresh_.end(), [&](const auto& f) { return f.first == minute; });
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
  const auto filter = m ? m->filter.serialize() : id_filter{}.serialize();
  const auto runs = runs_.spans(minute);
  // (Never a bare 0xB1 filter: read back, that means "stored before runs", whose
  // sequenced ids take the looked-up path.)
  std::string out;
  out.reserve(10 + filter.size() + 16 * runs.size());
  out.push_back(static_cast<char>(stored_tag));
  out.push_back(static_cast<char>(!m || m->runs_complete ? runs_complete_flag : 0));
  bytes::put_le32(out, static_cast<std::uint32_t>(filter.size()));
  out += filter;
  bytes::put_le32(out, static_cast<std::uint32_t>(runs.size()));
  for (const auto& r : runs) {
    bytes::put_le64(out, r.minter);
    bytes::put_le32(out, r.first);
    bytes::put_le32(out, r.last);
  }
  return out;
}

std::optional<recent_ids::stored_minute> recent_ids::parse_stored(std::string_view in) {
  if (in.empty()) return std::nullopt;
  if (static_cast<std::uint8_t>(in[0]) != stored_tag) {
    auto filter = id_filter::parse(in);
    if (!filter) return std::nullopt;
    return stored_minute{std::move(*filter), {}, false};
  }
  in.remove_prefix(1);
  if (in.empty()) return std::nullopt;
  const auto flags = static_cast<std::uint8_t>(in[0]);
  in.remove_prefix(1);
  std::uint32_t filter_bytes = 0, n = 0;
  if (flags & ~runs_complete_flag || !bytes::take_le32(in, filter_bytes) || in.size() < filter_bytes)
    return std::nullopt;
  auto filter = id_filter::parse(in.substr(0, filter_bytes));
  in.remove_prefix(filter_bytes);
  if (!filter || !bytes::take_le32(in, n) || in.size() != std::size_t{n} * 16) return std::nullopt;
  stored_minute out{std::move(*filter), {}, (flags & runs_complete_flag) != 0};
  id_runs::span previous;
  for (std::uint32_t i = 0; i < n; ++i) {
    id_runs::span r;
    bytes::take_le64(in, r.minter);
    bytes::take_le32(in, r.first);
    bytes::take_le32(in, r.last);
    // Sorted, disjoint and apart, as stored() writes them: anything else is not its.
    if (r.last < r.first) return std::nullopt;
    if (i > 0 && (r.minter < previous.minter ||
                  (r.minter == previous.minter && r.first <= std::uint64_t{previous.last} + 1)))
      return std::nullopt;
    out.runs.insert_span(0, r);
    previous = r;
  }
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

void recent_ids::drop(const std::vector<std::int64_t>& minutes) {
  for (auto minute : minutes) {
    if (untaken(minute)) continue;
    runs_.drop(minute);
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
  u.untaken = fresh_.capacity() * sizeof(fresh_[0]);
  for (const auto& m : minutes_) {
    if (m.recent) u.generations += sizeof(generations) + m.recent->young.memory_bytes() + m.recent->old.memory_bytes();
    u.filters += m.filter.memory_bytes();
  }
  u.runs = runs_.memory_bytes();
  return u;
}

}  // namespace adclick
