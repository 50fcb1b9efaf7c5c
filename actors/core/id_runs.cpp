#include "actors/core/id_runs.hpp"

#include <algorithm>

namespace adclick {

std::optional<sequenced_id> as_sequenced(const click_id& id) {
  if (id[8] | id[9] | id[10] | id[11]) return std::nullopt;
  sequenced_id s;
  for (int b = 0; b < 8; ++b) s.minter = s.minter << 8 | id[b];
  for (int b = 12; b < 16; ++b) s.sequence = s.sequence << 8 | id[b];
  return s;
}

click_id to_click_id(const sequenced_id& s) {
  click_id id{};
  for (int b = 0; b < 8; ++b) id[b] = static_cast<std::uint8_t>(s.minter >> (56 - 8 * b));
  for (int b = 0; b < 4; ++b) id[12 + b] = static_cast<std::uint8_t>(s.sequence >> (24 - 8 * b));
  return id;
}

std::size_t id_runs::find(std::int64_t minute_ms) const {
  const auto minute = key(minute_ms);
  auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute,
                             [](const minute_end& m, std::int32_t v) { return m.minute < v; });
  return it != minutes_.end() && it->minute == minute ? static_cast<std::size_t>(it - minutes_.begin())
                                                      : minutes_.size();
}

std::optional<std::uint32_t> id_runs::index_of(std::uint64_t minter) const {
  auto it = std::lower_bound(minters_.begin(), minters_.end(), minter,
                             [](const minter_entry& e, std::uint64_t v) { return e.minter < v; });
  if (it == minters_.end() || it->minter != minter) return std::nullopt;
  return it->index;
}

std::uint32_t id_runs::intern(std::uint64_t minter) {
  auto it = std::lower_bound(minters_.begin(), minters_.end(), minter,
                             [](const minter_entry& e, std::uint64_t v) { return e.minter < v; });
  if (it != minters_.end() && it->minter == minter) return it->index;
  const auto index = static_cast<std::uint32_t>(minters_.size());
  minters_.insert(it, {minter, index});
  return index;
}

void id_runs::forget_unused_minters() {
  std::vector<bool> used(minters_.size());
  for (const auto& r : runs_) used[r.minter] = true;
  if (std::find(used.begin(), used.end(), false) == used.end()) return;
  // The kept keep their order, so every minute's runs stay sorted.
  std::vector<std::uint32_t> renumbered(minters_.size());
  std::uint32_t next = 0;
  for (std::size_t i = 0; i < used.size(); ++i) renumbered[i] = used[i] ? next++ : 0;
  for (auto& r : runs_) r.minter = renumbered[r.minter];
  minters_.erase(std::remove_if(minters_.begin(), minters_.end(), [&](const minter_entry& e) { return !used[e.index]; }),
                 minters_.end());
  for (auto& e : minters_) e.index = renumbered[e.index];
}

std::vector<std::uint64_t> id_runs::minter_of_index() const {
  std::vector<std::uint64_t> out(minters_.size());
  for (const auto& e : minters_) out[e.index] = e.minter;
  return out;
}

void id_runs::shift_ends(std::size_t from, int by) {
  for (auto i = from; i < minutes_.size(); ++i) minutes_[i].end = static_cast<std::uint32_t>(minutes_[i].end + by);
}

bool id_runs::contains(std::int64_t minute, const sequenced_id& id) const {
  const auto m = find(minute);
  if (m == minutes_.size()) return false;
  const auto found = index_of(id.minter);
  if (!found) return false;
  const auto minter = *found;
  const auto b = runs_.begin() + begin_of(m), e = runs_.begin() + minutes_[m].end;
  // The last run that starts at or before the id, then whether it reaches it.
  auto it = std::upper_bound(b, e, std::pair{minter, id.sequence}, [](const auto& v, const run& r) {
    return v.first < r.minter || (v.first == r.minter && v.second < r.first);
  });
  return it != b && std::prev(it)->minter == minter && id.sequence <= std::prev(it)->last;
}

std::size_t id_runs::at(std::int64_t minute_ms) {
  auto m = find(minute_ms);
  if (m != minutes_.size()) return m;
  const auto minute = key(minute_ms);
  auto it = std::lower_bound(minutes_.begin(), minutes_.end(), minute,
                             [](const minute_end& x, std::int32_t v) { return x.minute < v; });
  m = static_cast<std::size_t>(it - minutes_.begin());
  minutes_.insert(it, {minute, begin_of(m)});
  return m;
}

void id_runs::touch(std::int64_t minute) { at(minute); }

void id_runs::insert_span(std::int64_t minute, const span& s) {
  if (s.last < s.first) return;
  const auto m = at(minute);
  const auto minter = intern(s.minter);
  const auto b = runs_.begin() + begin_of(m), e = runs_.begin() + minutes_[m].end;
  // The runs it overlaps or touches: from the first of the minter's that ends at or after
  // first - 1, to the first that starts after last + 1 (lasts grow with firsts: disjoint).
  const std::uint64_t from = s.first, to = s.last;
  auto lo = std::lower_bound(b, e, std::pair{minter, from}, [](const run& r, const auto& v) {
    return r.minter < v.first || (r.minter == v.first && std::uint64_t{r.last} + 1 < v.second);
  });
  auto hi = std::upper_bound(lo, e, std::pair{minter, to}, [](const auto& v, const run& r) {
    return v.first < r.minter || (v.first == r.minter && v.second + 1 < r.first);
  });
  if (lo == hi) {
    const auto at_index = lo - runs_.begin();
    if (runs_.size() == runs_.capacity()) runs_.reserve(runs_.size() + runs_.size() / 4 + 4);
    runs_.insert(runs_.begin() + at_index, run{minter, s.first, s.last});
    shift_ends(m, +1);
    return;
  }
  lo->first = std::min(lo->first, s.first);
  lo->last = std::max(std::prev(hi)->last, s.last);
  const auto merged = static_cast<int>(hi - lo) - 1;
  runs_.erase(lo + 1, hi);
  shift_ends(m, -merged);
}

bool id_runs::insert(std::int64_t minute, const sequenced_id& id) {
  if (contains(minute, id)) return false;
  insert_span(minute, {id.minter, id.sequence, id.sequence});  // (joins a neighbour, or a run of its own)
  return true;
}

bool id_runs::has(std::int64_t minute) const { return find(minute) != minutes_.size(); }

void id_runs::drop(std::int64_t minute) {
  const auto m = find(minute);
  if (m == minutes_.size()) return;
  const auto b = begin_of(m), e = minutes_[m].end;
  runs_.erase(runs_.begin() + b, runs_.begin() + e);
  minutes_.erase(minutes_.begin() + static_cast<std::ptrdiff_t>(m));
  shift_ends(m, -static_cast<int>(e - b));
  forget_unused_minters();
  if (minutes_.empty()) {  // (an ad that went quiet gives its memory back)
    decltype(runs_){}.swap(runs_);
    decltype(minutes_){}.swap(minutes_);
    decltype(minters_){}.swap(minters_);
  }
}

void id_runs::drop_if_empty(std::int64_t minute) {
  const auto m = find(minute);
  if (m != minutes_.size() && begin_of(m) == minutes_[m].end) minutes_.erase(minutes_.begin() + static_cast<std::ptrdiff_t>(m));
}

std::size_t id_runs::size(std::int64_t minute) const {
  const auto m = find(minute);
  if (m == minutes_.size()) return 0;
  std::size_t n = 0;
  for (auto i = begin_of(m); i < minutes_[m].end; ++i) n += std::size_t{runs_[i].last} - runs_[i].first + 1;
  return n;
}

std::size_t id_runs::size() const {
  std::size_t n = 0;
  for (const auto& r : runs_) n += std::size_t{r.last} - r.first + 1;
  return n;
}

std::size_t id_runs::memory_bytes() const {
  return minters_.capacity() * sizeof(minter_entry) + minutes_.capacity() * sizeof(minute_end) +
         runs_.capacity() * sizeof(run);
}

std::vector<id_runs::span> id_runs::spans(std::int64_t minute) const {
  std::vector<span> out;
  const auto m = find(minute);
  if (m == minutes_.size()) return out;
  const auto minter = minter_of_index();
  for (auto i = begin_of(m); i < minutes_[m].end; ++i) out.push_back({minter[runs_[i].minter], runs_[i].first, runs_[i].last});
  std::sort(out.begin(), out.end(), [](const span& a, const span& b) {
    return a.minter < b.minter || (a.minter == b.minter && a.first < b.first);
  });
  return out;
}

std::vector<sequenced_id> id_runs::ids(std::int64_t minute) const {
  std::vector<sequenced_id> out;
  for (const auto& r : spans(minute))
    for (std::uint64_t s = r.first; s <= r.last; ++s) out.push_back({r.minter, static_cast<std::uint32_t>(s)});
  return out;
}

}  // namespace adclick
