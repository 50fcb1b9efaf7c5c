#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "actors/core/recent_ids.hpp"
#include "actors/core/id_runs.hpp"
#include "persistence/key_codec.hpp"

using namespace adclick;

namespace {
/// An id of the general path: (a, b) in its 16 bytes, with a bit of byte 11 flipped so that
/// it never follows the sequenced layout (which needs bytes 8 to 11 zero).
click_id id_of(std::uint64_t a, std::uint64_t b = 0) {
  click_id id{};
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<std::uint8_t>(a >> (8 * i));
    id[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
  }
  id[11] ^= 0x80;
  return id;
}

/// A minute as the store holds it: the ids of its chunks, its runs row and its filter row
/// (if any).
struct stored_rows {
  std::vector<click_id> chunks;
  std::string runs;
  std::string filter;
};
std::vector<id_span> row_of(const stored_rows& rows) {
  std::vector<id_span> out;
  if (!rows.runs.empty()) REQUIRE(keys::decode_runs_row(rows.runs, out));
  return out;
}
/// What the store holds of a minute, read back as the ad actor reads an open minute: its
/// chunks, then its runs row.
recent_ids::stored_minute read_back(const stored_rows& rows) {
  recent_ids::stored_minute m{id_filter{rows.chunks.size()}, {}, true};
  for (const auto& id : rows.chunks) m.add(id);
  m.add_runs(row_of(rows));
  return m;
}
/// A checkpoint: what `r` changed goes to `storage`, chunks appended, runs rows replaced.
/// `format5`: as a format-5 build stored them, every id in chunks and no runs row.
void take_to(recent_ids& r, std::map<std::int64_t, stored_rows>& storage, bool format5 = false) {
  for (auto& c : r.take_changes()) {
    auto& chunks = storage[c.minute_ms].chunks;
    chunks.insert(chunks.end(), c.ids.begin(), c.ids.end());
  }
  for (auto& row : r.take_runs_changes()) {
    auto& rows = storage[row.minute_ms];
    if (!format5) {
      rows.runs = std::move(row.bytes);
      continue;
    }
    std::vector<id_span> spans;
    REQUIRE(keys::decode_runs_row(row.bytes, spans));
    for (const auto& span : spans)
      for (std::uint64_t q = span.first; q <= span.last; ++q) {
        const auto id = to_click_id({span.minter, static_cast<std::uint32_t>(q)});
        if (std::find(rows.chunks.begin(), rows.chunks.end(), id) == rows.chunks.end()) rows.chunks.push_back(id);
      }
  }
}
/// The store's answer to a lookup (store::contains_id): the chunks, nothing else.
bool holds(const stored_rows& rows, const click_id& id) {
  return std::find(rows.chunks.begin(), rows.chunks.end(), id) != rows.chunks.end();
}

/// The filter of what stored() wrote (its ids of the general path).
std::optional<id_filter> filter_of_stored(const std::string& bytes) {
  auto parsed = recent_ids::parse_stored(bytes);
  if (!parsed) return std::nullopt;
  return std::move(parsed->filter);
}
}  // namespace

TEST_CASE("id_set is exact on all 16 bytes", "[dedup]") {
  id_set s;
  CHECK(s.insert(id_of(1, 1)));
  CHECK_FALSE(s.insert(id_of(1, 1)));
  CHECK(s.insert(id_of(1, 2)));  // same first 8 bytes (same hash), different id
  CHECK(s.insert(click_id{}));  // the all-zero id is a valid id
  CHECK_FALSE(s.insert(click_id{}));
  CHECK(s.contains(click_id{}));
  CHECK(s.contains(id_of(1, 2)));
  CHECK_FALSE(s.contains(id_of(2, 1)));
  CHECK(s.size() == 3);
  CHECK(s.ids().size() == 3);
}

TEST_CASE("id_set spreads sequenced ids: one minter, a counter", "[dedup]") {
  // The recommended id layout shares its first 8 bytes across a minter's ids: hashed on
  // those alone, they would all probe from one slot (quadratic inserts).
  id_set s;
  const std::uint64_t n = 20'000;
  for (std::uint64_t seq = 0; seq < n; ++seq) REQUIRE(s.insert(id_of(0xA11CE, seq)));
  for (std::uint64_t seq = 0; seq < n; ++seq) REQUIRE(s.contains(id_of(0xA11CE, seq)));
  CHECK_FALSE(s.contains(id_of(0xA11CE, n)));
  CHECK(s.size() == n);
  CHECK(s.longest_probe() < 64);  // all from one slot: up to n
}

TEST_CASE("a small id_set is small: most minutes of most ads hold a few recent ids", "[dedup]") {
  // At steady state most (ad, minute) generations hold a handful of ids; 16 slots to
  // start with cost 0.6 bytes per click more (bench_dedup_model).
  id_set s;
  CHECK(s.memory_bytes() == 0);
  CHECK(sizeof(id_set) <= 16);
  for (std::uint64_t i = 1; i <= 3; ++i) s.insert(id_of(i, i));
  CHECK(s.memory_bytes() == 4 * sizeof(click_id));  // 3 ids in 4 slots
  s.insert(id_of(4, 4));
  CHECK(s.memory_bytes() == 8 * sizeof(click_id));  // then doubling, at most 3/4 full
  for (std::uint64_t i = 1; i <= 4; ++i) CHECK(s.contains(id_of(i, i)));
}

TEST_CASE("id_set matches std::set on random ids, through growth", "[dedup][model]") {
  std::mt19937_64 rng{7};
  for (int round = 0; round < 50; ++round) {
    id_set s;
    std::set<click_id> model;
    const int n = 1 + static_cast<int>(rng() % 5000);
    for (int i = 0; i < n; ++i) {
      // Small id space so that duplicates are common; sometimes colliding first halves.
      auto id = id_of(rng() % 3000, rng() % 3);
      REQUIRE(s.insert(id) == model.insert(id).second);
    }
    REQUIRE(s.size() == model.size());
    for (int i = 0; i < 200; ++i) {
      auto id = id_of(rng() % 4000, rng() % 3);
      REQUIRE(s.contains(id) == (model.count(id) == 1));
    }
  }
}

TEST_CASE("recent_ids dedups per minute and reports what to persist, sorted", "[dedup]") {
  recent_ids r;
  CHECK(r.insert(60'000, id_of(5)) == recent_ids::insert_result::added);
  CHECK(r.insert(60'000, id_of(3)) == recent_ids::insert_result::added);
  CHECK(r.insert(60'000, id_of(5)) == recent_ids::insert_result::duplicate);
  CHECK(r.insert(120'000, id_of(5)) == recent_ids::insert_result::added);  // another minute: another click
  auto changes = r.take_changes();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].minute_ms == 60'000);
  CHECK(changes[0].ids == std::vector<click_id>{id_of(3), id_of(5)});
  CHECK(r.take_changes().empty());
  // Still remembered after the checkpoint.
  CHECK(r.insert(60'000, id_of(3)) == recent_ids::insert_result::duplicate);
}

TEST_CASE("recent_ids drops only durable minutes, and a reloaded minute still dedups", "[dedup]") {
  recent_ids r;
  r.insert(60'000, id_of(1));
  auto durable = r.take_changes();
  r.insert(120'000, id_of(2));  // not durable yet
  r.drop({60'000, 120'000});
  CHECK_FALSE(r.has(60'000));
  CHECK(r.has(120'000));
  CHECK(r.ids_in_memory() == 1);

  r.load(60'000, durable[0].ids);  // a late click brings the minute back from storage
  CHECK(r.ids_in_memory() == 1);   // into its filter, not into memory
  CHECK(r.insert(60'000, id_of(1)) == recent_ids::insert_result::need_lookup);
  CHECK(r.resolve(60'000, id_of(1), true) == recent_ids::insert_result::duplicate);
  auto nine = r.insert(60'000, id_of(9));
  if (nine == recent_ids::insert_result::need_lookup) nine = r.resolve(60'000, id_of(9), false);  // 0.5%
  CHECK(nine == recent_ids::insert_result::added);
  auto next = r.take_changes();
  REQUIRE(next.size() == 2);
  CHECK(next[0].ids == std::vector<click_id>{id_of(9)});  // only the new id: an append
}

TEST_CASE("recent_ids keeps recent arrivals exactly and the rest behind a filter and the store", "[dedup]") {
  recent_ids r;
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(r.insert(60'000, id_of(i)) == recent_ids::insert_result::added);
  CHECK(r.ids_in_memory() == 1000);
  r.rotate();  // (nothing taken yet: nothing was durable to drop either)
  r.take_changes();  // the 1000 are durable from here
  CHECK(r.ids_in_memory() == 1000);  // old generation now
  // Every id of the minute is still in memory: a repeat needs no lookup.
  CHECK(r.insert(60'000, id_of(5)) == recent_ids::insert_result::duplicate);
  r.insert(60'000, id_of(5000));
  r.rotate();
  r.take_changes();
  CHECK(r.ids_in_memory() == 1);  // only the young one aged; the 1000 left memory
  CHECK(r.memory_bytes() < 1000 * 4);
  // A repeat of a dropped id may be in the store: look it up. A new id the filter rules
  // out is added at once.
  CHECK(r.insert(60'000, id_of(7)) == recent_ids::insert_result::need_lookup);
  CHECK(r.resolve(60'000, id_of(7), true) == recent_ids::insert_result::duplicate);
  CHECK(r.insert(60'000, id_of(5000)) == recent_ids::insert_result::duplicate);  // still in a generation
  int lookups = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    auto got = r.insert(60'000, id_of(1'000'000 + i, 1));
    if (got == recent_ids::insert_result::need_lookup) {
      ++lookups;
      got = r.resolve(60'000, id_of(1'000'000 + i, 1), false);
    }
    REQUIRE(got == recent_ids::insert_result::added);
  }
  CHECK(lookups < 30);  // false positives: about 0.5%
  // The filter to store covers every id of the minute.
  REQUIRE(r.stored(60'000));
  auto f = filter_of_stored(*r.stored(60'000));
  REQUIRE(f);
  CHECK_FALSE(r.stored(120'000));  // not in memory: no filter that could miss its ids
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(f->may_contain(id_of(i)));
}

TEST_CASE("recent_ids with trimming, restarts and reloads equals a set of everything, on random streams",
          "[dedup][model]") {
  // The store as the ad actor uses it: chunks, runs rows and filter rows written at
  // checkpoints, read back the way seed_minute reads them (a filter row and the runs row
  // if the size check passes, else the chunks and the runs row), lookups in the chunks
  // only. A third of the streams start as a format-5 build stored them (every id in
  // chunks, bare filters), then restart on this one.
  std::mt19937_64 rng{11};
  for (int stream = 0; stream < 1000; ++stream) {
    const bool upgraded = stream % 3 == 0;
    recent_ids r;
    std::set<std::pair<std::int64_t, click_id>> model;
    std::map<std::int64_t, stored_rows> storage;
    std::int64_t now_minute = 10;
    // Final minutes: their filter row is written with every checkpoint that takes their
    // changes (as an amendment rewrites it), from memory.
    std::set<std::int64_t> finals;
    auto checkpoint = [&](bool format5) {
      take_to(r, storage, format5);
      for (auto minute : finals) {
        if (!r.has(minute)) continue;  // (no change to take: its row stands)
        if (format5) {  // a bare filter of every id
          id_filter f;
          for (const auto& [m, id] : model)
            if (m == minute) f.add(id);
          storage[minute].filter = f.serialize();
        } else {
          storage[minute].filter = r.stored(minute).value();
        }
      }
    };
    for (int i = 0; i < 300; ++i) {
      const bool format5 = upgraded && i < 100;
      if (upgraded && i == 100) {  // the upgrade: a clean stop, then this build
        checkpoint(true);
        r = recent_ids{};
      }
      switch (rng() % 20) {
        case 0: {  // checkpoint (everything earlier is durable here: sometimes rotate first)
          if (rng() % 2) r.rotate();
          const auto minute = (now_minute - static_cast<std::int64_t>(rng() % 6)) * 60'000;
          if (r.has(minute) && rng() % 3 == 0) finals.insert(minute);
          checkpoint(format5);
          break;
        }
        case 1: {  // time passes; trim the old minutes (those not yet durable stay)
          ++now_minute;
          std::vector<std::int64_t> old;
          for (std::int64_t m = now_minute - 10; m < now_minute - 3; ++m) old.push_back(m * 60'000);
          r.drop(old);
          break;
        }
        case 2:  // a restart: what is durable stays
          checkpoint(format5);
          r = recent_ids{};
          break;
        default: {
          std::int64_t minute = (now_minute - static_cast<std::int64_t>(rng() % 6)) * 60'000;
          // Both paths, mixed: general ids, and sequenced ones of 3 minters.
          auto id = rng() % 2 ? id_of(rng() % 40) : to_click_id({rng() % 3, static_cast<std::uint32_t>(rng() % 15)});
          if (!r.has(minute) && storage.count(minute)) {
            const auto& rows = storage[minute];
            const auto count = static_cast<std::size_t>(std::count_if(
              model.begin(), model.end(), [&](const auto& x) { return x.first == minute; }));
            auto parsed = rows.filter.empty() || rng() % 2 ? std::nullopt : recent_ids::parse_stored(rows.filter);
            if (parsed) parsed->add_runs(row_of(rows));
            if (parsed && parsed->distinct_at_least() >= count)
              r.load_stored(minute, std::move(*parsed));
            else
              r.load_stored(minute, read_back(rows));
          }
          auto got = r.insert(minute, id);
          if (got == recent_ids::insert_result::need_lookup) got = r.resolve(minute, id, holds(storage[minute], id));
          REQUIRE(got != recent_ids::insert_result::need_lookup);
          REQUIRE((got == recent_ids::insert_result::added) == model.insert({minute, id}).second);
        }
      }
    }
  }
}

TEST_CASE("a stored filter loaded into a minute that already holds ids keeps them", "[dedup][filter]") {
  recent_ids s;
  REQUIRE(s.insert(60'000, id_of(1)) == recent_ids::insert_result::added);
  id_filter stored;
  stored.add(id_of(2));
  s.load_filter(60'000, std::move(stored));
  auto f = filter_of_stored(s.stored(60'000).value());
  REQUIRE(f);
  CHECK(f->may_contain(id_of(1)));  // recorded here: the filter to store still has it
  CHECK(f->may_contain(id_of(2)));
  CHECK(s.insert(60'000, id_of(1)) == recent_ids::insert_result::duplicate);
}

TEST_CASE("with only a filter in memory, a new id is added without its minute's ids", "[dedup][filter]") {
  std::vector<click_id> stored{id_of(1), id_of(2), id_of(3)};
  auto filter_of = [](const std::vector<click_id>& ids) {
    id_filter f;
    for (const auto& x : ids) f.add(x);
    return f;
  };
  recent_ids r;
  r.load_filter(60'000, filter_of(stored));
  CHECK(r.insert(60'000, id_of(2)) == recent_ids::insert_result::need_lookup);  // maybe there: look
  CHECK(r.resolve(60'000, id_of(2), true) == recent_ids::insert_result::duplicate);
  CHECK(r.insert(60'000, id_of(2)) == recent_ids::insert_result::need_lookup);  // still not in memory
  CHECK(r.ids_in_memory() == 0);

  recent_ids s;
  s.load_filter(60'000, filter_of(stored));
  auto fresh = id_of(999, 999);
  REQUIRE_FALSE(filter_of(stored).may_contain(fresh));
  CHECK(s.insert(60'000, fresh) == recent_ids::insert_result::added);
  CHECK(s.insert(60'000, fresh) == recent_ids::insert_result::duplicate);
  auto back = filter_of_stored(s.stored(60'000).value());  // the stored filter learns it
  REQUIRE(back);
  CHECK(back->may_contain(fresh));
  CHECK(back->may_contain(id_of(1)));
  // A false positive costs a lookup, never a click: the store says no, the id is added.
  auto lookup = id_of(4);
  CHECK(s.resolve(60'000, lookup, false) == recent_ids::insert_result::added);
  CHECK(s.insert(60'000, lookup) == recent_ids::insert_result::duplicate);
}

TEST_CASE("recent_ids keeps sequenced ids exactly, as runs, with no lookup ever", "[dedup]") {
  recent_ids r;
  for (std::uint32_t q = 0; q < 10000; ++q)
    for (std::uint64_t minter : {1, 2, 3})
      REQUIRE(r.insert(60'000, to_click_id({minter, q})) == recent_ids::insert_result::added);
  for (int flush = 0; flush < 3; ++flush) {  // the generations turn over: runs stay
    r.rotate();
    r.take_changes();
  }
  CHECK(r.ids_in_memory() == 0);  // nothing in the generations
  CHECK(r.sequenced_ids() == 30000);
  CHECK(r.memory().runs < 128);  // 3 runs of 12 bytes, a minute of 8 and 3 minters of 16
  CHECK(r.memory_bytes() < 30000 / 100);
  for (std::uint32_t q = 0; q < 10000; q += 7)
    REQUIRE(r.insert(60'000, to_click_id({2, q})) == recent_ids::insert_result::duplicate);
  CHECK(r.insert(60'000, to_click_id({2, 10000})) == recent_ids::insert_result::added);
  CHECK(r.insert(120'000, to_click_id({2, 5})) == recent_ids::insert_result::added);  // another minute
  // A minute of sequenced ids alone is in memory with no record of the general path.
  CHECK(r.has(120'000));
  CHECK(r.memory().records == 0);
}

TEST_CASE("sequenced ids are stored as a runs row per minute, rewritten whole, never as ids", "[dedup]") {
  const auto seq = [](std::uint32_t q) { return to_click_id({42, q}); };
  recent_ids r;
  std::map<std::int64_t, stored_rows> storage;
  for (std::uint32_t q = 0; q < 100; ++q) REQUIRE(r.insert(60'000, seq(q)) == recent_ids::insert_result::added);
  r.insert(60'000, id_of(7));
  take_to(r, storage);
  CHECK(storage[60'000].chunks == std::vector<click_id>{id_of(7)});  // the general path only
  auto first = recent_ids::parse_runs(storage[60'000].runs);
  REQUIRE(first);
  CHECK(*first == std::vector<id_span>{{42, 0, 99}});
  // Nothing new: no row. A new id: the minute's whole row again, not a delta.
  CHECK(r.take_runs_changes().empty());
  REQUIRE(r.insert(60'000, seq(100)) == recent_ids::insert_result::added);
  REQUIRE(r.insert(60'000, seq(100)) == recent_ids::insert_result::duplicate);
  REQUIRE(r.insert(60'000, to_click_id({43, 5})) == recent_ids::insert_result::added);
  auto rows = r.take_runs_changes();
  REQUIRE(rows.size() == 1);
  CHECK(recent_ids::parse_runs(rows[0].bytes).value() == std::vector<id_span>{{42, 0, 100}, {43, 5, 5}});
  // A minute is not dropped while its runs row is not taken (it is not durable yet).
  REQUIRE(r.insert(120'000, seq(7)) == recent_ids::insert_result::added);
  r.drop({120'000});
  CHECK(r.has(120'000));
  r.take_runs_changes();
  r.drop({120'000});
  CHECK_FALSE(r.has(120'000));
}

TEST_CASE("a final minute's filter row and runs row hold every id, and one stored before runs stays exact",
          "[dedup][filter]") {
  const auto seq = [](std::uint32_t q) { return to_click_id({42, q}); };
  recent_ids r;
  for (std::uint32_t q = 0; q < 100; ++q) r.insert(60'000, seq(q));
  r.insert(60'000, id_of(7));
  const auto runs_row = r.take_runs_changes().at(0).bytes;
  auto parsed = recent_ids::parse_stored(r.stored(60'000).value());
  REQUIRE(parsed);
  CHECK(parsed->size() == 1);  // the filter row: the general path's filter, no runs
  CHECK(parsed->runs_complete);
  parsed->add_runs(recent_ids::parse_runs(runs_row).value());  // as the ad actor loads a final minute
  CHECK(parsed->size() == 101);
  recent_ids back;
  back.load_stored(60'000, std::move(*parsed));
  CHECK(back.insert(60'000, seq(50)) == recent_ids::insert_result::duplicate);  // from the runs, exactly
  CHECK(back.insert(60'000, seq(100)) == recent_ids::insert_result::added);
  CHECK(back.insert(60'000, id_of(7)) == recent_ids::insert_result::need_lookup);  // the filter's maybe

  // A filter row written before runs rows (2026-11-29, tag 0xB2 with the runs in it) is
  // still read whole.
  id_filter general;
  general.add(id_of(7));
  auto older = recent_ids::parse_stored(keys::encode_filter_row(true, general.serialize(), {{42, 0, 99}}));
  REQUIRE(older);
  CHECK(older->size() == 101);

  // Stored before runs: a bare filter of every id, sequenced ones included. A sequenced id
  // it may hold is looked up; and so it stays after the minute is stored again.
  id_filter old;
  for (std::uint32_t q = 0; q < 100; ++q) old.add(seq(q));
  recent_ids legacy;
  legacy.load_filter(60'000, std::move(old));
  CHECK(legacy.insert(60'000, seq(5)) == recent_ids::insert_result::need_lookup);
  CHECK(legacy.resolve(60'000, seq(5), true) == recent_ids::insert_result::duplicate);
  auto fresh = legacy.insert(60'000, seq(1000));
  if (fresh == recent_ids::insert_result::need_lookup) fresh = legacy.resolve(60'000, seq(1000), false);
  REQUIRE(fresh == recent_ids::insert_result::added);
  auto again = recent_ids::parse_stored(legacy.stored(60'000).value());
  REQUIRE(again);
  CHECK_FALSE(again->runs_complete);
  again->add_runs(recent_ids::parse_runs(legacy.take_runs_changes().at(0).bytes).value());
  recent_ids reloaded;
  reloaded.load_stored(60'000, std::move(*again));
  CHECK(reloaded.insert(60'000, seq(5)) == recent_ids::insert_result::need_lookup);  // not "added"
  CHECK(reloaded.insert(60'000, seq(1000)) == recent_ids::insert_result::duplicate);
}

TEST_CASE("a filter that may hold sequenced ids is not counted twice with the runs", "[dedup][filter]") {
  // A bare filter (format 5) of ids S, missing one id g of its bucket, and a runs row that
  // holds S too (written after the upgrade): 20 ids by size, 10 for sure. A bucket of 11
  // is not trusted to them (the chunks are read instead), or a repeat of g would count.
  id_filter bare;
  for (std::uint32_t q = 0; q < 10; ++q) bare.add(to_click_id({42, q}));
  auto m = recent_ids::parse_stored(bare.serialize());
  REQUIRE(m);
  CHECK_FALSE(m->runs_complete);
  m->add_runs({{42, 0, 9}});
  CHECK(m->size() == 20);
  CHECK(m->distinct_at_least() == 10);
  m->runs_complete = true;  // (a filter of the general path alone: the parts add up)
  CHECK(m->distinct_at_least() == 20);
}

TEST_CASE("parse_stored and parse_runs refuse what was not written by this code", "[dedup][filter]") {
  recent_ids r;
  r.insert(60'000, id_of(1));
  const auto good = r.stored(60'000).value();
  REQUIRE(recent_ids::parse_stored(good));
  CHECK_FALSE(recent_ids::parse_stored(""));
  CHECK_FALSE(recent_ids::parse_stored(good.substr(0, good.size() - 1)));  // cut short
  CHECK_FALSE(recent_ids::parse_stored(good + "x"));                         // trailing bytes
  auto flags = good;
  flags[1] = 0x7f;  // unknown flags
  CHECK_FALSE(recent_ids::parse_stored(flags));
  CHECK_FALSE(recent_ids::parse_stored(std::string("\xB1junk")));
  // Runs, in a runs row or in an older filter row, must be sorted, disjoint and apart.
  const std::vector<std::vector<id_span>> bad = {
    {{1, 2, 1}},              // first after last
    {{2, 0, 5}, {1, 0, 5}},   // minters out of order
    {{1, 0, 5}, {1, 3, 9}},   // overlapping
    {{1, 0, 5}, {1, 6, 9}},   // touching: one run
  };
  for (const auto& runs : bad) {
    CHECK_FALSE(recent_ids::parse_runs(keys::encode_runs_row(runs)));
    CHECK_FALSE(recent_ids::parse_stored(keys::encode_filter_row(true, id_filter{}.serialize(), runs)));
  }
  const auto row = keys::encode_runs_row({{1, 0, 5}, {1, 7, 9}, {2, 0, 0}});
  CHECK(recent_ids::parse_runs(row));
  CHECK_FALSE(recent_ids::parse_runs(row.substr(0, row.size() - 1)));
  CHECK_FALSE(recent_ids::parse_runs(row + "x"));
  CHECK_FALSE(recent_ids::parse_runs(""));
  CHECK_FALSE(recent_ids::parse_runs(good));  // a filter row is not a runs row
}

TEST_CASE("ids that only look sequenced (64 bits padded with zeros) stay exact and cheap", "[dedup]") {
  // Bytes 8 to 15 zero: every id names a minter of its own. Past max_minters the ad's new
  // ones take the general path, and their minute says so when stored.
  auto padded = [](std::uint64_t n) {
    click_id id{};
    for (int i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>((n * 0x9e3779b97f4a7c15ULL) >> (8 * i));
    return id;
  };
  const std::size_t n = 3 * recent_ids::max_minters;
  std::map<std::int64_t, stored_rows> storage;
  const auto& stored = storage[60'000];
  auto insert = [&](recent_ids& ids, const click_id& id) {
    auto got = ids.insert(60'000, id);
    if (got == recent_ids::insert_result::need_lookup) got = ids.resolve(60'000, id, holds(stored, id));
    return got;
  };
  recent_ids r;
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(insert(r, padded(i)) == recent_ids::insert_result::added);
    if (i % 1000 == 999) {  // checkpoints: the general path's generations turn over
      r.rotate();
      take_to(r, storage);
    }
  }
  CHECK(r.sequenced_ids() == recent_ids::max_minters);
  CHECK(r.memory_bytes() < n * 24);  // ~36 bytes for each of the first 4096, then a few (with no cap, all ~36)
  // Every one is still a duplicate, whichever path it took: from the runs, the
  // generations, or the filter and a lookup.
  for (std::size_t i = 0; i < n; i += 7) REQUIRE(insert(r, padded(i)) == recent_ids::insert_result::duplicate);
  r.rotate();
  take_to(r, storage);
  CHECK(stored.chunks.size() == n - recent_ids::max_minters);  // past the cap: ids
  // Stored and read back (a final minute: its filter row and its runs row), the minute
  // keeps both paths.
  auto parsed = recent_ids::parse_stored(r.stored(60'000).value());
  REQUIRE(parsed);
  CHECK_FALSE(parsed->runs_complete);
  parsed->add_runs(row_of(stored));
  CHECK(parsed->size() == n);
  recent_ids back;
  back.load_stored(60'000, std::move(*parsed));
  for (std::size_t i = 0; i < n; i += 5) REQUIRE(insert(back, padded(i)) == recent_ids::insert_result::duplicate);
  auto fresh = insert(back, padded(n + 1));
  CHECK(fresh == recent_ids::insert_result::added);

  // Reloaded from its chunks and runs row (a restart): exact. The chunks' ids take the
  // general path (filter and lookups in the chunks), the row's go back into runs; nothing
  // is recorded or written again.
  recent_ids reloaded;
  reloaded.load_stored(60'000, read_back(stored));
  CHECK(reloaded.sequenced_ids() == recent_ids::max_minters);
  for (std::size_t i = 0; i < n; i += 3) REQUIRE(insert(reloaded, padded(i)) == recent_ids::insert_result::duplicate);
  CHECK(reloaded.take_changes().empty());
  CHECK(reloaded.take_runs_changes().empty());
  // Final, left memory, and back (its filter row and its runs row): every id is still a
  // duplicate, with lookups in the chunks alone.
  auto final_row = recent_ids::parse_stored(reloaded.stored(60'000).value());
  REQUIRE(final_row);
  final_row->add_runs(row_of(stored));
  CHECK(final_row->size() >= n);
  // (Its filter holds sequenced ids, so only the larger part counts as sure: the ad actor
  // reads the chunks instead. Loaded anyway, it is exact too.)
  CHECK(final_row->distinct_at_least() < n);
  recent_ids late;
  late.load_stored(60'000, std::move(*final_row));
  for (std::size_t i = 0; i < n; ++i) REQUIRE(insert(late, padded(i)) == recent_ids::insert_result::duplicate);
  CHECK(insert(late, padded(n + 2)) == recent_ids::insert_result::added);

  // Ids gathered from chunks never become runs (no minter per id to intern: hours for a
  // hot minute), and the minute says its filter holds sequenced ids.
  recent_ids::stored_minute gathered;
  for (std::size_t i = 0; i < n; ++i) gathered.add(padded(i));
  CHECK(gathered.runs.minters() == 0);
  CHECK_FALSE(gathered.runs_complete);
  CHECK(gathered.size() == n);

  // Loaded where another minute already holds max_minters minters (a late click after
  // the ad moved on): the minute's runs past the cap are kept apart, exactly, and its next
  // runs row still holds them.
  recent_ids crowded;
  for (std::size_t i = 0; i < recent_ids::max_minters; ++i) crowded.insert(120'000, padded(n + 10 + i));
  crowded.take_changes();
  crowded.take_runs_changes();
  crowded.load_stored(60'000, read_back(stored));
  CHECK(crowded.sequenced_ids() == recent_ids::max_minters);  // none of the minute's runs fit
  CHECK(crowded.take_changes().empty());
  CHECK(crowded.take_runs_changes().empty());  // the row holds them all already
  for (std::size_t i = 0; i < n; i += 3) {
    auto got = crowded.insert(60'000, padded(i));
    if (got == recent_ids::insert_result::need_lookup) got = crowded.resolve(60'000, padded(i), holds(stored, padded(i)));
    REQUIRE(got == recent_ids::insert_result::duplicate);
  }
  // A new id of a minter the runs know grows the row: written whole, with the kept-apart runs.
  REQUIRE(crowded.insert(60'000, padded(n + 10)) == recent_ids::insert_result::added);
  auto rows = crowded.take_runs_changes();
  REQUIRE(rows.size() == 1);
  CHECK(recent_ids::parse_runs(rows[0].bytes).value().size() == recent_ids::max_minters + 1);
  // Out of memory and back: its kept-apart runs leave with it.
  crowded.drop({60'000});
  CHECK_FALSE(crowded.has(60'000));
  CHECK(crowded.memory().runs < recent_ids::max_minters * (24 + 16));
}
