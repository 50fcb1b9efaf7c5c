// The LevelDB store, for real, in a temporary directory.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <catch2/catch.hpp>

#include <thread>

#include "actors/checkpoint_writer.hpp"
#include "actors/core/id_filter.hpp"
#include "common/errc.hpp"
#include "common/fault_switch.hpp"
#include "common/time.hpp"
#include "gateway/query_engine.hpp"
#include "messages/click_codec.hpp"
#include "persistence/key_codec.hpp"
#include "persistence/store.hpp"
#include "tests/support/test_support.hpp"

using namespace adclick;

namespace {
ad_delta ids_delta(std::uint64_t ad, std::vector<minute_ids> ids, std::uint64_t counted) {
  ad_delta d;
  d.ad_id = ad;
  d.ids = std::move(ids);
  d.counted = counted;
  return d;
}
}  // namespace

namespace {
checkpoint make_checkpoint(std::uint32_t partition, std::uint64_t seq,
                           std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>> rows) {
  checkpoint cp;
  cp.partition = partition;
  cp.number = seq;  // one checkpoint per sequence here
  cp.stream_seq = seq;
  cp.outcomes[outcome::counted] = seq * 10;
  for (auto [ad, minute, count] : rows) {
    ad_delta d;
    d.ad_id = ad;
    d.minutes.push_back({minute, count, bucket_state::open, 0});
    cp.ads.push_back(std::move(d));
  }
  return cp;
}
store::options opts(std::uint32_t partitions = 16, bool sync = true) {
  store::options o;
  o.partitions = partitions;
  o.sync = sync;
  return o;
}

caf::error write(store& db, const checkpoint& cp) {
  auto b = checkpoint_batch(cp);
  return db.write(b);
}
}  // namespace

TEST_CASE("a checkpoint survives close and reopen", "[store]") {
  test::temp_dir dir;
  {
    auto db = store::open(dir.str("db"), opts(16, true));
    REQUIRE(db);
    REQUIRE_FALSE(write(**db, make_checkpoint(2, 77, {{5, 60'000, 3}, {5, 120'000, 4}, {6, 60'000, 1}})));
    REQUIRE_FALSE(write(**db, make_checkpoint(2, 78, {{5, 60'000, 9}})));  // absolute: overwrites
  }
  auto db = store::open(dir.str("db"), opts(16, true));
  REQUIRE(db);
  auto pos = (*db)->read_position(2);
  REQUIRE(pos);
  CHECK(pos->stream_seq == 78);
  CHECK(pos->outcomes[outcome::counted] == 780);
  CHECK((*db)->read_position(3)->stream_seq == 0);  // never checkpointed
  CHECK(test::must((*db)->read_minute(5, 60'000)).count == 9);
  CHECK(test::must((*db)->read_minute(5, 180'000)).count == 0);

  std::vector<series_point> points;
  REQUIRE_FALSE((*db)->scan_minutes(5, 0, 180'000, points));
  REQUIRE(points.size() == 2);
  CHECK(points[0].start_ms == 60'000);
  CHECK(points[0].count == 9);
  CHECK(points[1].start_ms == 120'000);
  CHECK(points[1].count == 4);
  // The range is half-open and never crosses into another ad.
  points.clear();
  REQUIRE_FALSE((*db)->scan_minutes(5, 120'000, 120'001, points));
  CHECK(points.size() == 1);
  points.clear();
  REQUIRE_FALSE((*db)->scan_minutes(5, 0, 120'000, points));
  CHECK(points.size() == 1);
}

TEST_CASE("click ids are stored in chunks and read back per (ad, minute)", "[store]") {
  test::temp_dir dir;
  auto id = [](std::uint8_t b) {
    click_id x{};
    x.fill(b);
    return x;
  };
  {
    auto db = store::open(dir.str("db"), opts(16, true));
    REQUIRE(db);
    auto cp = make_checkpoint(1, 10, {});
    cp.ads.push_back(ids_delta(5, {{60'000, {id(1), id(2)}}, {120'000, {id(3)}}}, 3));
    REQUIRE_FALSE(write(**db, cp));
    auto next = make_checkpoint(1, 11, {});
    next.ads.push_back(ids_delta(5, {{60'000, {id(4)}}}, 1));  // an appended chunk
    next.ads.push_back(ids_delta(6, {{60'000, {id(9)}}}, 1));  // another ad, same minute
    REQUIRE_FALSE(write(**db, next));
  }
  auto db = store::open(dir.str("db"), opts(16, true));
  REQUIRE(db);
  std::vector<click_id> ids;
  REQUIRE_FALSE((*db)->read_ids(5, 60'000, ids));
  CHECK(ids == std::vector<click_id>{id(1), id(2), id(4)});
  ids.clear();
  REQUIRE_FALSE((*db)->read_ids(5, 120'000, ids));
  CHECK(ids == std::vector<click_id>{id(3)});
  ids.clear();
  REQUIRE_FALSE((*db)->read_ids(5, 180'000, ids));
  CHECK(ids.empty());
  ids.clear();
  REQUIRE_FALSE((*db)->read_ids(6, 60'000, ids));
  CHECK(ids == std::vector<click_id>{id(9)});
}

TEST_CASE("table files are read, not mapped into memory (their pages would count in the RSS)", "[store]") {
  test::temp_dir dir;
  auto db = store::open(dir.str("db"), opts(16, true));
  REQUIRE(db);
  std::mt19937_64 rng{3};
  for (std::uint64_t c = 0; c < 20; ++c) {
    auto cp = make_checkpoint(1, 10 + c, {});
    std::vector<click_id> ids(1000);
    for (auto& x : ids) {
      const auto a = rng(), b = rng();
      std::memcpy(x.data(), &a, 8);
      std::memcpy(x.data() + 8, &b, 8);
    }
    cp.ads.push_back(ids_delta(5 + c, {{60'000, ids}}, ids.size()));
    REQUIRE_FALSE(write(**db, cp));
  }
  REQUIRE_FALSE((*db)->compact_ids(0, 120'000));  // the ids into table files
  std::vector<click_id> read;
  for (std::uint64_t ad = 5; ad < 25; ++ad) REQUIRE_FALSE((*db)->read_ids(ad, 60'000, read));
  CHECK(read.size() == 20000);
  // Which files this process maps: none of the store's tables.
  std::ifstream maps{"/proc/self/maps"};
  std::string line;
  std::size_t tables = 0;
  while (std::getline(maps, line))
    if (line.find(dir.str("db")) != std::string::npos && line.find(".ldb") != std::string::npos) ++tables;
  CHECK(tables == 0);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.str("db"))) files += e.path().extension() == ".ldb";
  CHECK(files > 0);  // (there were tables to map)
}

TEST_CASE("contains_id finds exactly the stored ids of an (ad, minute), however its chunks are sharded",
          "[store][dedup]") {
  test::temp_dir dir;
  auto db = store::open(dir.str("db"), opts(16, false));
  REQUIRE(db);
  std::mt19937_64 rng{42};
  auto random_id = [&] {
    click_id x;
    for (auto& b : x) b = static_cast<std::uint8_t>(rng());
    return x;
  };
  // Chunks from one id to 100k (every shard level), in two minutes of one ad and one
  // minute of another; and a sequenced run, whose ids share their first 8 bytes.
  std::set<click_id> stored_a, stored_b, stored_a_next;
  std::uint64_t number = 1;
  for (std::size_t n : {1, 5, 128, 129, 3000, 40000, 100000}) {
    auto cp = make_checkpoint(0, number, {{7, 60'000, 1}, {7, 120'000, 1}, {23, 60'000, 1}});
    cp.number = number++;
    std::vector<click_id> a, b, other;
    for (std::size_t i = 0; i < n; ++i) {
      a.push_back(random_id());
      b.push_back(random_id());
      other.push_back(random_id());
    }
    stored_a.insert(a.begin(), a.end());
    stored_b.insert(b.begin(), b.end());
    stored_a_next.insert(other.begin(), other.end());
    cp.ads.push_back(ids_delta(7, {{60'000, a}, {120'000, other}}, n));
    cp.ads.push_back(ids_delta(23, {{60'000, b}}, n));
    REQUIRE_FALSE(write(**db, cp));
  }
  std::vector<click_id> sequenced;
  for (std::uint64_t seq = 0; seq < 5000; ++seq) {
    click_id x{};
    x[0] = 0x42;  // one minter
    for (int i = 0; i < 8; ++i) x[8 + i] = static_cast<std::uint8_t>(seq >> (8 * (7 - i)));
    sequenced.push_back(x);
  }
  stored_a.insert(sequenced.begin(), sequenced.end());
  auto cp = make_checkpoint(0, number, {});
  cp.number = number;
  cp.ads.push_back(ids_delta(7, {{60'000, sequenced}}, sequenced.size()));
  REQUIRE_FALSE(write(**db, cp));

  for (const auto& id : stored_a) REQUIRE(test::must((*db)->contains_id(7, 60'000, id)));
  for (const auto& id : stored_b) {
    REQUIRE(test::must((*db)->contains_id(23, 60'000, id)));
    REQUIRE_FALSE(test::must((*db)->contains_id(7, 60'000, id)));  // another ad's
  }
  for (const auto& id : stored_a) {
    REQUIRE_FALSE(test::must((*db)->contains_id(7, 180'000, id)));  // another minute
    REQUIRE_FALSE(test::must((*db)->contains_id(7, 120'000, id)));  // the next one, which has ids
  }
  for (const auto& id : stored_a_next) {
    REQUIRE(test::must((*db)->contains_id(7, 120'000, id)));
    REQUIRE_FALSE(test::must((*db)->contains_id(7, 60'000, id)));
  }
  for (int i = 0; i < 20000; ++i) REQUIRE_FALSE(test::must((*db)->contains_id(7, 60'000, random_id())));
  std::vector<click_id> all;
  REQUIRE_FALSE((*db)->read_ids(7, 60'000, all));
  CHECK(std::set<click_id>(all.begin(), all.end()) == stored_a);
  CHECK(all.size() == stored_a.size());
}

TEST_CASE("a second open of the same directory is refused with a clear error", "[store]") {
  test::temp_dir dir;
  auto first = store::open(dir.str("db"), opts(16, false));
  REQUIRE(first);
  auto second = store::open(dir.str("db"), opts(16, false));
  REQUIRE_FALSE(second);
  CHECK(second.error().code() == static_cast<std::uint8_t>(errc::storage_locked));
  CHECK(describe(second.error()).find("in use by another process") != std::string::npos);
}

TEST_CASE("a format-5 directory opens as it is and is marked format 6, and older ones are refused", "[store]") {
  test::temp_dir dir;
  {
    auto o = opts(16, false);
    o.create_format = 5;  // before runs rows: its chunks hold every id, sequenced ones too
    auto db = store::open(dir.str("db"), o);
    REQUIRE(db);
    CHECK((*db)->format() == 5);
    auto cp = make_checkpoint(0, 1, {{7, 60'000, 1}});
    cp.ads[0].ids.push_back({60'000, {click_id{}}});
    REQUIRE_FALSE(write(**db, cp));
  }
  {
    auto db = store::open(dir.str("db"), opts(16, false));
    REQUIRE(db);
    CHECK((*db)->format() == keys::format_version);
    std::vector<click_id> ids;
    REQUIRE_FALSE((*db)->read_ids(7, 60'000, ids));
    CHECK(ids.size() == 1);
  }
  auto db = store::open(dir.str("db"), opts(16, false));  // marked 6 now: a format-5 build refuses it
  REQUIRE(db);
  CHECK((*db)->format() == keys::format_version);

  // Its window rules are read too: another lateness is refused, the stored one opens.
  test::temp_dir counted;
  auto five = opts(16, false);
  five.rules.allowed_lateness_ms = 60'000;
  five.create_format = 5;
  REQUIRE(store::open(counted.str("db"), five));
  auto other_rules = store::open(counted.str("db"), opts(16, false));
  REQUIRE_FALSE(other_rules);
  CHECK(other_rules.error().code() == static_cast<std::uint8_t>(errc::format_mismatch));
  five.create_format = 0;
  CHECK(store::open(counted.str("db"), five));

  test::temp_dir old;
  auto o = opts(16, false);
  o.create_format = 4;
  REQUIRE(store::open(old.str("db"), o));
  auto refused = store::open(old.str("db"), opts(16, false));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == static_cast<std::uint8_t>(errc::format_mismatch));
}

TEST_CASE("a runs row is written whole, read back, and counted by count_ids", "[store]") {
  test::temp_dir dir;
  auto db = store::open(dir.str("db"), opts(16, false));
  REQUIRE(db);
  CHECK(test::must((*db)->read_runs(7, 60'000)).empty());
  auto cp = make_checkpoint(0, 1, {{7, 60'000, 4}});
  cp.ads[0].runs.push_back({60'000, keys::encode_runs_row({{1, 0, 1}})});
  REQUIRE_FALSE(write(**db, cp));
  cp = make_checkpoint(0, 2, {{7, 60'000, 5}});
  cp.ads[0].runs.push_back({60'000, keys::encode_runs_row({{1, 0, 2}, {9, 5, 6}})});  // the whole row again
  REQUIRE_FALSE(write(**db, cp));
  std::vector<id_span> spans;
  REQUIRE(keys::decode_runs_row(test::must((*db)->read_runs(7, 60'000)), spans));
  CHECK(spans == std::vector<id_span>{{1, 0, 2}, {9, 5, 6}});
  auto totals = test::must((*db)->count_ids(7, 1000));
  CHECK(totals.ids == 5);
  CHECK(totals.minutes == 1);
}

TEST_CASE("a directory created with another partition count is refused", "[store]") {
  test::temp_dir dir;
  REQUIRE(store::open(dir.str("db"), opts(16, false)));
  auto other = store::open(dir.str("db"), opts(8, false));
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == static_cast<std::uint8_t>(errc::format_mismatch));
  CHECK(describe(other.error()).find("partitions.count=16") != std::string::npos);
}

TEST_CASE("a directory counted with other window rules is refused", "[store]") {
  test::temp_dir dir;
  REQUIRE(store::open(dir.str("db"), opts()));
  auto changed = opts();
  changed.rules.allowed_lateness_ms = 60'000;
  auto other = store::open(dir.str("db"), changed);
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == static_cast<std::uint8_t>(errc::format_mismatch));
  CHECK(describe(other.error()).find("allowed-lateness=600000ms") != std::string::npos);
  CHECK(describe(other.error()).find("allowed-lateness=60000ms") != std::string::npos);
}

namespace {
/// A store with injectable faults, and a checkpoint writer's view of it.
struct faulty {
  test::temp_dir dir;
  std::shared_ptr<fault_switch> faults = std::make_shared<fault_switch>();
  std::unique_ptr<store> db;
  std::uint64_t seq = 0;
  faulty() { reopen(); }
  void reopen() {
    db.reset();
    auto o = opts();
    o.faults = faults;
    db = test::must(store::open(dir.str("db"), o));
  }
  /// Writes one checkpoint of partition 1 counting ad `ad` at minute 0 as `count`.
  caf::error checkpoint_of(std::uint64_t ad, std::uint64_t count) {
    return write(*db, make_checkpoint(1, ++seq, {{ad, 0, count}}));
  }
  std::uint64_t count_of(std::uint64_t ad) { return test::must(db->read_minute(ad, 0)).count; }
};
}  // namespace

TEST_CASE("after a torn log write, later writes go to a fresh log and survive a reopen", "[store][faults]") {
  // LevelDB LOG: a write that fails half-way leaves a torn record, and the writer's
  // buffer and block offsets no longer match the file: a later record appended to the
  // same log is dropped when the log is replayed. The store reopens before writing again.
  faulty f;
  REQUIRE_FALSE(f.checkpoint_of(1, 10));
  f.faults->arm("storage-torn-append", 1);
  CHECK(f.checkpoint_of(2, 20));         // torn and failed: not durable, not acked
  REQUIRE_FALSE(f.checkpoint_of(3, 30));  // reported durable: must survive
  REQUIRE_FALSE(f.checkpoint_of(4, 40));
  CHECK(f.db->reopens() == 1);
  f.reopen();  // replays the logs
  CHECK(f.count_of(1) == 10);
  CHECK(f.count_of(3) == 30);
  CHECK(f.count_of(4) == 40);
  CHECK(test::must(f.db->read_position(1)).stream_seq == 4);
}

TEST_CASE("after a failed fsync the store reopens and takes writes again", "[store][faults]") {
  // LevelDB makes a failed sync sticky: every later write fails until the database is
  // reopened (STACK-NOTES). The failed write itself may or may not be in the log.
  faulty f;
  REQUIRE_FALSE(f.checkpoint_of(1, 10));
  f.faults->arm("storage-sync-fail", 1);
  CHECK(f.checkpoint_of(2, 20));
  REQUIRE_FALSE(f.checkpoint_of(3, 30));
  CHECK(f.db->reopens() == 1);
  f.reopen();
  CHECK(f.count_of(1) == 10);
  CHECK(f.count_of(3) == 30);
}

TEST_CASE("while the disk is full writes fail, reads go on, and writes resume when space returns",
          "[store][faults]") {
  faulty f;
  REQUIRE_FALSE(f.checkpoint_of(1, 10));
  f.faults->arm("storage-full");
  for (int i = 0; i < 5; ++i) CHECK(f.checkpoint_of(2, 20));
  CHECK(f.db->reopens() == 0);     // no reopen while the directory takes no writes
  CHECK(f.count_of(1) == 10);      // the database is still open for reads
  f.faults->disarm("storage-full");
  REQUIRE_FALSE(f.checkpoint_of(2, 21));
  CHECK(f.db->reopens() == 1);
  f.reopen();
  CHECK(f.count_of(2) == 21);
  CHECK(f.count_of(1) == 10);
}

TEST_CASE("outbox rows are scanned in order from a sequence and deleted", "[store][outbox]") {
  test::temp_dir dir;
  auto db = test::must(store::open(dir.str("db"), opts()));
  auto cp = make_checkpoint(2, 5, {});
  for (std::uint64_t seq = 10; seq < 15; ++seq) {
    outbox_message m;
    m.seq = seq;
    m.subject = "adclick.final." + std::to_string(seq);
    m.msg_id = "id-" + std::to_string(seq);
    m.payload = "p";
    cp.outbox.push_back(m);
  }
  cp.next_outbox_seq = 15;
  REQUIRE_FALSE(write(*db, cp));
  std::vector<outbox_message> rows;
  REQUIRE_FALSE(db->scan_outbox(2, 12, 2, rows));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].seq == 12);
  CHECK(rows[1].msg_id == "id-13");
  store::batch done;
  done.delete_outbox(2, 10);
  done.delete_outbox(2, 11);
  REQUIRE_FALSE(db->write_unsynced(done));
  rows.clear();
  REQUIRE_FALSE(db->scan_outbox(2, 0, 100, rows));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].seq == 12);
  rows.clear();
  REQUIRE_FALSE(db->scan_outbox(3, 0, 100, rows));  // another partition's rows are its own
  CHECK(rows.empty());
  CHECK(test::must(db->read_position(2)).next_outbox_seq == 15);
}

TEST_CASE("a write that waits behind a torn one from another thread is not reported durable and then lost",
          "[store][faults]") {
  // Two threads write (the checkpoint writer, and the outbox publisher removing rows). If
  // the second entered LevelDB while the first tore the log, it would be appended after
  // the torn record, reported durable, and dropped when the log is replayed.
  faulty f;
  REQUIRE_FALSE(f.checkpoint_of(1, 10));
  f.faults->arm("storage-torn-append", 1);
  f.faults->arm("storage-slow-append", 1);  // the torn write takes its time
  std::thread torn{[&] { CHECK(f.checkpoint_of(2, 20)); }};
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  store::batch b;
  b.put_bucket(1, 3, {0, 30, bucket_state::open, 0});
  const auto err = f.db->write(b);  // reported durable, or failed: never a lie
  torn.join();
  f.reopen();
  if (!err) CHECK(f.count_of(3) == 30);
  CHECK(f.count_of(1) == 10);
}

TEST_CASE("reads through a snapshot see no later write", "[store][snapshot]") {
  // A top-K reads rankings, then the totals that prove them: a checkpoint landing between
  // the two must not be half seen.
  test::temp_dir dir;
  auto db = store::open(dir.str("db"), opts(16, true));
  REQUIRE(db);
  auto put = [&](std::uint64_t count) {
    store::batch b;
    ranking r{entity::ad, granularity::hour, 0, {{7, count}}, 0};
    b.put_ranking(3, r);
    b.put_rollup(7, {granularity::hour, 0, {count, 0, 0}});
    REQUIRE_FALSE((*db)->write(b));
  };
  put(100);
  auto at = (*db)->take_snapshot();
  put(250);
  ranking seen{entity::ad, granularity::hour, 0, {}, 0};
  REQUIRE_FALSE((*db)->read_ranking(3, seen, at.get()));
  REQUIRE(seen.top.size() == 1);
  CHECK(seen.top[0].count == 100);
  std::vector<std::pair<std::int64_t, rollup_value>> rolled;
  REQUIRE_FALSE((*db)->scan_rollups(7, granularity::hour, 0, 3'600'000, rolled, at.get()));
  REQUIRE(rolled.size() == 1);
  CHECK(rolled[0].second.count == 100);
  REQUIRE_FALSE((*db)->read_ranking(3, seen));  // now
  CHECK(seen.top[0].count == 250);
}

TEST_CASE("the open-bucket scan in steps visits every bucket once, whatever the step", "[store][recovery]") {
  test::temp_dir dir;
  auto db = store::open(dir.str("db"), opts(16, true));
  REQUIRE(db);
  // Partition 3: ads 3, 19, 35, ... over 4 minutes, 40 open buckets; partitions 2 and 4
  // have their own, which the scan must not cross into.
  std::set<std::pair<std::int64_t, std::uint64_t>> want;
  store::batch b;
  for (std::uint64_t i = 0; i < 10; ++i)
    for (std::int64_t m = 0; m < 4; ++m) {
      const auto ad = 3 + 16 * i;
      b.put_bucket(3, ad, {m * 60'000, 1, bucket_state::open, 0});
      want.insert({m * 60'000, ad});
      b.put_bucket(2, ad - 1, {m * 60'000, 1, bucket_state::open, 0});
      b.put_bucket(4, ad + 1, {m * 60'000, 1, bucket_state::open, 0});
    }
  b.put_bucket(3, 3 + 16 * 20, {0, 5, bucket_state::final, 1});  // final: not open
  REQUIRE_FALSE((*db)->write(b));
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{40}, std::size_t{1000}}) {
    INFO("step " << step);
    std::multiset<std::pair<std::int64_t, std::uint64_t>> seen;
    store::scan_step at;
    int steps = 0;
    while (!at.done) {
      REQUIRE_FALSE((*db)->scan_open(3, at, step, [&](std::int64_t m, std::uint64_t ad) { seen.insert({m, ad}); }));
      REQUIRE(++steps <= 41);
    }
    CHECK(std::set<std::pair<std::int64_t, std::uint64_t>>(seen.begin(), seen.end()) == want);
    CHECK(seen.size() == want.size());
    CHECK(steps == static_cast<int>((want.size() + step - 1) / step));
  }
  // Resumed across a reopen, with a bucket closed and one opened ahead of the cursor meanwhile.
  store::scan_step at;
  std::set<std::pair<std::int64_t, std::uint64_t>> seen;
  REQUIRE_FALSE((*db)->scan_open(3, at, 10, [&](std::int64_t m, std::uint64_t ad) { seen.insert({m, ad}); }));
  REQUIRE_FALSE(at.done);
  db->reset();
  db = store::open(dir.str("db"), opts(16, true));
  REQUIRE(db);
  store::batch later;
  later.put_bucket(3, 3 + 16 * 9, {3 * 60'000, 2, bucket_state::final, 1});  // the last one closes
  later.put_bucket(3, 3 + 16 * 30, {3 * 60'000, 1, bucket_state::open, 0});  // a new one opens
  REQUIRE_FALSE((*db)->write(later));
  while (!at.done)
    REQUIRE_FALSE((*db)->scan_open(3, at, 10, [&](std::int64_t m, std::uint64_t ad) { seen.insert({m, ad}); }));
  auto expect = want;
  expect.erase({3 * 60'000, 3 + 16 * 9});
  expect.insert({3 * 60'000, 3 + 16 * 30});
  CHECK(seen == expect);
}

namespace {
/// A store of `partitions` partitions with a 10-minute dedup horizon, unsynced.
caf::expected<std::unique_ptr<store>> retention_store(const test::temp_dir& dir, std::uint32_t partitions) {
  auto o = opts(partitions, false);
  o.rules.dedup_horizon_ms = 10 * 60'000;
  return store::open(dir.str("db"), o);
}
}  // namespace

TEST_CASE("retention deletes the ids and filters of the minutes every partition has left behind, and nothing else",
          "[store][retention]") {
  test::temp_dir dir;
  auto db = retention_store(dir, 4);
  REQUIRE(db);
  constexpr std::int64_t t0 = 1'764'300'000'000;  // a minute boundary
  std::mt19937_64 rng{3};
  // Partitions 0 and 1 (ads 4 and 5, of 4 partitions) each count 2000 ids in each of 12
  // minutes and store each minute's filter.
  auto checkpoint_of = [&](std::uint32_t partition, std::uint64_t ad, std::uint64_t number, std::int64_t watermark) {
    auto cp = make_checkpoint(partition, number, {});
    cp.watermark_ms = watermark;
    ad_delta d;
    d.ad_id = ad;
    for (int m = 0; m < 12; ++m) {
      const auto minute = t0 + m * 60'000;
      std::vector<click_id> ids(2000);
      for (auto& id : ids)
        for (auto& b : id) b = static_cast<std::uint8_t>(rng());
      std::sort(ids.begin(), ids.end());
      d.minutes.push_back({minute, ids.size(), bucket_state::final, 1});
      id_filter f;
      for (const auto& id : ids) f.add(id);
      d.filters.push_back({minute, f.serialize()});
      d.ids.push_back({minute, std::move(ids)});
      std::vector<id_span> runs;  // and sequenced ids: 1000 runs of 4 (a row of 16 KB)
      for (std::uint64_t minter = 0; minter < 1000; ++minter) runs.push_back({minter, 0, 3});
      d.runs.push_back({minute, keys::encode_runs_row(runs)});
    }
    cp.ads.push_back(std::move(d));
    return cp;
  };
  REQUIRE_FALSE(write(**db, checkpoint_of(0, 4, 1, t0 + 15 * 60'000)));  // floor t0 + 5 min
  REQUIRE_FALSE(write(**db, checkpoint_of(1, 5, 1, t0 + 18 * 60'000)));  // floor t0 + 8 min
  {
    auto cp = make_checkpoint(3, 1, {});  // read messages, counted nothing: no watermark
    cp.watermark_ms = window_rules::no_watermark;
    REQUIRE_FALSE(write(**db, cp));
  }
  REQUIRE_FALSE((*db)->compact_ids(t0, t0 + 60 * 60'000));  // everything into files, to be measured
  const auto before = (*db)->approximate_disk_usage();
  CHECK(before.ids > 12 * 2 * 2000 * 16 / 2);
  CHECK(before.filters > 0);
  CHECK(before.runs > 0);

  auto run_pass = [&](std::size_t limit, int& steps) {
    store::scan_step at;
    store::purge_result sum;
    for (steps = 0; !at.done; ++steps) {
      REQUIRE(steps < 1000);
      auto r = (*db)->purge_expired_ids(at, limit);
      REQUIRE(r);
      sum.keys += r->keys;
      sum.bytes += r->bytes;
      sum.floor_ms = r->floor_ms;
      sum.held_by = r->held_by;
      sum.deleted_minutes.insert(r->deleted_minutes.begin(), r->deleted_minutes.end());
    }
    return sum;
  };
  auto minutes_with_ids = [&](std::uint64_t ad) {
    int n = 0;
    for (int m = 0; m < 12; ++m) {
      std::vector<click_id> ids;
      REQUIRE_FALSE((*db)->read_ids(ad, t0 + m * 60'000, ids));
      const bool has_filter = !test::must((*db)->read_filter(ad, t0 + m * 60'000)).empty();
      const bool has_runs = !test::must((*db)->read_runs(ad, t0 + m * 60'000)).empty();
      REQUIRE(has_filter == !ids.empty());  // a minute's ids, runs and filter go together
      REQUIRE(has_runs == !ids.empty());
      n += ids.empty() ? 0 : 1;
    }
    return n;
  };

  int steps = 0;
  auto pass = run_pass(7, steps);
  REQUIRE(pass.floor_ms);
  CHECK(*pass.floor_ms == t0 + 5 * 60'000);  // the lowest: partition 0's
  CHECK(pass.held_by == 0);
  CHECK(minutes_with_ids(4) == 7);  // partition 0: minutes 5..11 stay
  CHECK(minutes_with_ids(5) == 4);  // partition 1 goes by its own floor: 8..11 stay
  CHECK(steps > 2);                 // seven rows at a time
  CHECK(pass.bytes > 13 * 2000 * 16);
  REQUIRE(pass.deleted_minutes.size() == 8);
  CHECK(*pass.deleted_minutes.begin() == t0);
  CHECK(*pass.deleted_minutes.rbegin() == t0 + 7 * 60'000);
  for (int m = 0; m < 12; ++m) CHECK(test::must((*db)->read_minute(4, t0 + m * 60'000)).count == 2000);  // counts stay
  REQUIRE_FALSE((*db)->compact_ids(*pass.deleted_minutes.begin(), *pass.deleted_minutes.rbegin()));
  const auto after = (*db)->approximate_disk_usage();
  CHECK(after.ids < before.ids * 3 / 4);
  CHECK(after.runs < before.runs);
  CHECK(after.total < before.total);

  CHECK(run_pass(1000, steps).keys == 0);  // nothing more until a watermark moves

  // Partition 0 moves on: its rows go; partition 1, which did not move, holds the lowest floor.
  auto cp = make_checkpoint(0, 2, {});
  cp.watermark_ms = t0 + 40 * 60'000;
  REQUIRE_FALSE(write(**db, cp));
  pass = run_pass(1000, steps);
  CHECK(*pass.floor_ms == t0 + 8 * 60'000);
  CHECK(pass.held_by == 1);
  CHECK(minutes_with_ids(4) == 0);
  CHECK(minutes_with_ids(5) == 4);
}

TEST_CASE("retention keeps the floor minute itself, works below the epoch, and counts a rebased partition",
          "[store][retention]") {
  test::temp_dir dir;
  auto db = retention_store(dir, 2);
  REQUIRE(db);
  // Ads 0 and 2 belong to partition 0, ad 1 to partition 1. Minutes below zero too.
  auto cp = make_checkpoint(0, 1, {});
  cp.watermark_ms = 5 * 60'000 + 30'000;  // floor: -5 min (5.5 min - 10 min, down to a minute)
  for (std::uint64_t ad : {0, 2})
    cp.ads.push_back(ids_delta(ad, {{-6 * 60'000, {click_id{1}}}, {-5 * 60'000, {click_id{2}}}, {0, {click_id{3}}}}, 3));
  REQUIRE_FALSE(write(**db, cp));
  auto rebased = make_checkpoint(1, 0, {});  // stream sequence 0 after a rebase, but a stream and a watermark
  rebased.stream_seq = 0;
  rebased.stream_created_ns = 42;
  rebased.watermark_ms = 5 * 60'000 + 30'000;
  rebased.ads.push_back(ids_delta(1, {{-6 * 60'000, {click_id{4}}}}, 1));
  REQUIRE_FALSE(write(**db, rebased));
  store::scan_step at;
  auto r = (*db)->purge_expired_ids(at, 1000);
  REQUIRE(r);
  REQUIRE(at.done);
  CHECK(*r->floor_ms == -5 * 60'000);
  CHECK(r->keys == 3);  // minute -6 of ads 0, 2 and 1
  for (std::uint64_t ad : {0, 1, 2}) {
    std::vector<click_id> ids;
    REQUIRE_FALSE((*db)->read_ids(ad, -6 * 60'000, ids));
    CHECK(ids.empty());
  }
  for (std::uint64_t ad : {0, 2}) {
    std::vector<click_id> ids;
    REQUIRE_FALSE((*db)->read_ids(ad, -5 * 60'000, ids));  // the floor minute: some of its clicks still count
    CHECK(ids.size() == 1);
  }
}

TEST_CASE("retention deletes nothing while no partition has a watermark", "[store][retention]") {
  test::temp_dir dir;
  auto db = store::open(dir.str("db"), opts(4, false));
  REQUIRE(db);
  auto cp = make_checkpoint(2, 1, {});
  cp.watermark_ms = window_rules::no_watermark;
  cp.ads.push_back(ids_delta(6, {{60'000, {click_id{}}}}, 1));
  REQUIRE_FALSE(write(**db, cp));
  store::scan_step at;
  auto r = (*db)->purge_expired_ids(at, 100);
  REQUIRE(r);
  CHECK(at.done);
  CHECK_FALSE(r->floor_ms);
  CHECK(r->keys == 0);
  std::vector<click_id> ids;
  REQUIRE_FALSE((*db)->read_ids(6, 60'000, ids));
  CHECK(ids.size() == 1);
}

namespace {
/// Three days of counts for retention of counts: ads 2 and 4 in partition 0, ad 3 in
/// partition 1 (of 2); one final minute in each hour, its hour and day rows, the group
/// shares of ads 2 and 3 (campaign 20, advertiser 200; ad 4 rolls up into none) and each
/// partition's ad rankings of every hour and day.
constexpr std::int64_t retention_day0 = 1'764'288'000'000;  // a UTC day boundary
void write_three_days(store& db) {
  for (std::uint32_t p : {0u, 1u}) {
    auto cp = make_checkpoint(p, 1, {});
    cp.watermark_ms = window_rules::no_watermark;
    for (std::uint64_t ad : {2, 3, 4}) {
      if (partition_of(ad, 2) != p) continue;
      ad_delta d;
      d.ad_id = ad;
      d.new_owner = true;
      d.campaign_id = ad == 4 ? 0 : 20;
      d.advertiser_id = ad == 4 ? 0 : 200;
      for (int h = 0; h < 72; ++h) {
        const auto hour = retention_day0 + h * hour_ms;
        d.minutes.push_back({hour + 7 * minute_ms, 1, bucket_state::final, 1});
        d.rollups.push_back({granularity::hour, hour, {1, 0, 0}});
        if (h % 24 == 0) d.rollups.push_back({granularity::day, hour, {24, 0, 0}});
      }
      cp.ads.push_back(std::move(d));
    }
    for (int h = 0; h < 72; ++h) {
      const auto hour = retention_day0 + h * hour_ms;
      for (auto kind : {entity::campaign, entity::advertiser}) {
        const auto id = kind == entity::campaign ? 20u : 200u;
        cp.groups.push_back({kind, id, granularity::minute, hour + 7 * minute_ms, {1, 0, 0}});
        cp.groups.push_back({kind, id, granularity::hour, hour, {1, 0, 0}});
        if (h % 24 == 0) cp.groups.push_back({kind, id, granularity::day, hour, {24, 0, 0}});
      }
      cp.rankings.push_back({entity::ad, granularity::hour, hour, {{p == 0 ? 2u : 3u, 1}}, 0});
      if (h % 24 == 0) cp.rankings.push_back({entity::ad, granularity::day, hour, {{p == 0 ? 2u : 3u, 24}}, 0});
    }
    REQUIRE_FALSE(write(db, cp));
  }
}

/// Runs a whole count retention pass, `limit` rows a step.
store::count_purge_result purge_counts(store& db, std::size_t limit, const count_retention& keep, int& steps) {
  store::scan_step at;
  store::count_purge_result sum;
  for (steps = 0; !at.done; ++steps) {
    REQUIRE(steps < 100'000);
    auto r = db.purge_expired_counts(at, limit, keep);
    REQUIRE(r);
    sum.keys += r->keys;
    sum.minutes_from_ms = r->minutes_from_ms;
    sum.held_by = r->held_by;
  }
  return sum;
}

/// Which of the three days' hours (0..71) still have each kind of row.
struct kept_hours {
  std::set<int> minutes, hours, days, shares_m, shares_h, shares_d, rankings_h, rankings_d;
};
kept_hours kept_of(store& db, std::uint64_t ad, std::uint32_t partition) {
  kept_hours k;
  for (int h = 0; h < 72; ++h) {
    const auto hour = retention_day0 + h * hour_ms;
    if (test::must(db.read_minute(ad, hour + 7 * minute_ms)).count != 0) k.minutes.insert(h);
    if (test::must(db.read_rollup(ad, granularity::hour, hour)).count != 0) k.hours.insert(h);
    if (h % 24 == 0 && test::must(db.read_rollup(ad, granularity::day, hour)).count != 0) k.days.insert(h);
    if (ad == 4) continue;  // in no group, first in no ranking
    for (auto kind : {entity::campaign, entity::advertiser}) {
      const auto id = kind == entity::campaign ? 20u : 200u;
      if (test::must(db.read_group(kind, id, granularity::minute, hour + 7 * minute_ms, partition)).count != 0)
        k.shares_m.insert(h);
      if (test::must(db.read_group(kind, id, granularity::hour, hour, partition)).count != 0) k.shares_h.insert(h);
      if (h % 24 == 0 && test::must(db.read_group(kind, id, granularity::day, hour, partition)).count != 0)
        k.shares_d.insert(h);
    }
    ranking r;
    r.gran = granularity::hour;
    r.start_ms = hour;
    REQUIRE_FALSE(db.read_ranking(partition, r));
    if (!r.top.empty()) k.rankings_h.insert(h);
    if (h % 24 == 0) {
      r.gran = granularity::day;
      r.top.clear();
      REQUIRE_FALSE(db.read_ranking(partition, r));
      if (!r.top.empty()) k.rankings_d.insert(h);
    }
  }
  return k;
}

std::set<int> hours_from(int first, int end = 72, int step = 1) {
  std::set<int> out;
  for (int h = first; h < end; h += step) out.insert(h);
  return out;
}
}  // namespace

TEST_CASE("retention of counts deletes the buckets past retention.minute, .hour and .day of each partition, with "
          "their group shares and rankings, and nothing else",
          "[store][retention]") {
  test::temp_dir dir;
  auto db = retention_store(dir, 2);
  REQUIRE(db);
  write_three_days(**db);
  const count_retention keep{12 * hour_ms, 36 * hour_ms, 0};  // days forever
  int steps = 0;
  // Nothing goes while no partition has a watermark.
  CHECK(purge_counts(**db, 1000, keep, steps).keys == 0);
  CHECK(kept_of(**db, 2, 0).minutes == hours_from(0));

  // Partition 0 at hour 72, partition 1 at hour 48 (the 7th minute of each hour counts).
  for (auto [p, wm] : {std::pair{0u, 72}, std::pair{1u, 48}}) {
    auto cp = make_checkpoint(p, 2, {});
    cp.watermark_ms = retention_day0 + wm * hour_ms;
    REQUIRE_FALSE(write(**db, cp));
  }
  const auto before = kept_of(**db, 3, 1);
  const auto pass = purge_counts(**db, 7, keep, steps);  // seven rows a step
  CHECK(steps > 10);
  REQUIRE(pass.minutes_from_ms);
  CHECK(*pass.minutes_from_ms == retention_day0 + 36 * hour_ms);  // the lowest: partition 1's
  CHECK(pass.held_by == 1);

  for (std::uint64_t ad : {2, 4}) {  // partition 0: minutes from hour 60, hours from 36, every day
    const auto k = kept_of(**db, ad, 0);
    CHECK(k.minutes == hours_from(60));
    CHECK(k.hours == hours_from(36));
    CHECK(k.days == hours_from(0, 72, 24));
    if (ad == 4) continue;
    CHECK(k.shares_m == hours_from(60));
    CHECK(k.shares_h == hours_from(36));
    CHECK(k.shares_d == hours_from(0, 72, 24));
    CHECK(k.rankings_h == hours_from(36));
    CHECK(k.rankings_d == hours_from(0, 72, 24));
  }
  const auto k = kept_of(**db, 3, 1);  // partition 1 goes by its own watermark
  CHECK(before.minutes == hours_from(0));
  CHECK(k.minutes == hours_from(36));
  CHECK(k.hours == hours_from(12));
  CHECK(k.days == hours_from(0, 72, 24));
  CHECK(k.shares_m == hours_from(36));
  CHECK(k.shares_h == hours_from(12));
  CHECK(k.rankings_h == hours_from(12));
  CHECK(k.rankings_d == hours_from(0, 72, 24));
  // Per deleted bucket of an ad: the count row and its expiry row; per group share and
  // ranking: one row (each share once, though ads 2 and 4 share partition 0).
  const std::uint64_t ad_rows = 2 * (60 + 36) * 2 + (36 + 12) * 2;
  const std::uint64_t shares = 2 * ((60 + 36) + (36 + 12));
  const std::uint64_t rankings = 36 + 12;
  CHECK(pass.keys == ad_rows + shares + rankings);

  // The floors say what is gone, per partition and at most.
  CHECK(test::must((*db)->read_count_floor(0)).kept_from ==
        std::array<std::int64_t, 3>{retention_day0 + 60 * hour_ms, retention_day0 + 36 * hour_ms, count_floor::no_bucket});
  CHECK(test::must((*db)->read_count_floor(1)).kept_from ==
        std::array<std::int64_t, 3>{retention_day0 + 36 * hour_ms, retention_day0 + 12 * hour_ms, count_floor::no_bucket});
  CHECK(test::must((*db)->highest_count_floor()) == test::must((*db)->read_count_floor(0)));

  CHECK(purge_counts(**db, 1000, keep, steps).keys == 0);  // nothing more until a watermark moves
  // Kept longer from now on: nothing more goes, and the floors stay where the deletes left them.
  const auto longer = purge_counts(**db, 1000, {48 * hour_ms, 0, 0}, steps);
  CHECK(longer.keys == 0);
  CHECK(test::must((*db)->read_count_floor(1)).of(granularity::minute) == retention_day0 + 36 * hour_ms);
  // What a pass reports as kept (status) goes by what is gone, not by the longer setting:
  // partition 1's minutes before hour 36 are still refused.
  CHECK(longer.minutes_from_ms == std::optional<std::int64_t>{retention_day0 + 36 * hour_ms});
  CHECK(longer.held_by == 1);
  CHECK(purge_counts(**db, 1000, {0, 0, 0}, steps).minutes_from_ms ==
        std::optional<std::int64_t>{retention_day0 + 36 * hour_ms});  // kept forever from now on
  // Days go too once they are kept for a time: a day kept 2 days (and hours as long).
  const count_retention shorter{12 * hour_ms, 48 * hour_ms, 48 * hour_ms};
  purge_counts(**db, 1000, shorter, steps);
  CHECK(kept_of(**db, 2, 0).days == std::set<int>{24, 48});  // watermark hour 72: days from hour 24
  CHECK(kept_of(**db, 3, 1).days == std::set<int>{0, 24, 48});  // hour 48: from hour 0
  CHECK(test::must((*db)->read_count_floor(0)).of(granularity::day) == retention_day0 + 24 * hour_ms);
}

TEST_CASE("a format-6 directory gets the expiry rows of its final minutes when it opens, so retention finds them",
          "[store][retention]") {
  test::temp_dir dir;
  {
    auto o = opts(2, false);
    o.rules.dedup_horizon_ms = 10 * 60'000;
    o.create_format = 6;
    auto db = store::open(dir.str("db"), o);
    REQUIRE(db);
    store::batch b;
    b.omit_expiry_rows();  // as format 6 wrote them
    for (int m = 0; m < 30; ++m)
      b.put_bucket(0, 2, {retention_day0 + m * minute_ms, 1, m < 25 ? bucket_state::final : bucket_state::open, 1});
    keys::position pos;
    pos.stream_seq = 1;
    pos.watermark_ms = retention_day0 + 40 * minute_ms;
    b.put_position(0, pos);
    REQUIRE_FALSE((*db)->write(b));
    int steps = 0;
    CHECK(purge_counts(**db, 1000, {15 * minute_ms, 0, 0}, steps).keys == 0);  // it cannot find them
  }
  auto o = opts(2, false);
  o.rules.dedup_horizon_ms = 10 * 60'000;
  auto db = store::open(dir.str("db"), o);
  REQUIRE(db);
  CHECK((*db)->format() == keys::format_version);
  int steps = 0;
  const auto pass = purge_counts(**db, 1000, {15 * minute_ms, 0, 0}, steps);
  CHECK(pass.keys == 25 * 2);  // minutes 0..24 are before minute 25 (40 - 15): each with its expiry row
  for (int m = 0; m < 30; ++m)
    CHECK(test::must((*db)->read_minute(2, retention_day0 + m * minute_ms)).count == (m < 25 ? 0u : 1u));
}

TEST_CASE("a group series or a top-K that would read a bucket retention deleted is refused, whatever range it asked",
          "[store][retention]") {
  test::temp_dir dir;
  auto db = retention_store(dir, 2);
  REQUIRE(db);
  write_three_days(**db);
  for (auto p : {0u, 1u}) {
    auto cp = make_checkpoint(p, 2, {});
    cp.watermark_ms = retention_day0 + 72 * hour_ms;
    REQUIRE_FALSE(write(**db, cp));
  }
  int steps = 0;
  purge_counts(**db, 1000, {12 * hour_ms, 12 * hour_ms, 0}, steps);  // minutes and hours before hour 60 go

  // A billing top-K over the last two days, final before hour 60: it reads the day before
  // and the hours 48..59 of the last day, which are gone, though its range starts on a
  // day (kept forever).
  top_query q;
  q.from_ms = retention_day0 + 24 * hour_ms;
  q.to_ms = retention_day0 + 72 * hour_ms;
  q.billing = true;
  auto t = top(**db, q, {0, 1}, retention_day0 + 72 * hour_ms, retention_day0 + 60 * hour_ms);
  REQUIRE_FALSE(t);
  CHECK(t.error().code() == static_cast<std::uint8_t>(errc::past_retention));
  q.to_ms = retention_day0 + 48 * hour_ms;  // whole days only: answered
  CHECK(top(**db, q, {0, 1}, retention_day0 + 72 * hour_ms, retention_day0 + 60 * hour_ms));

  series_query g;
  g.kind = entity::campaign;
  g.id = 20;
  g.gran = granularity::hour;
  g.from_ms = retention_day0 + 59 * hour_ms;
  g.to_ms = retention_day0 + 72 * hour_ms;
  auto s = group_series(**db, g, retention_day0 + 72 * hour_ms, retention_day0 + 71 * hour_ms);
  REQUIRE_FALSE(s);
  CHECK(s.error().code() == static_cast<std::uint8_t>(errc::past_retention));
  g.from_ms = retention_day0 + 60 * hour_ms;
  s = group_series(**db, g, retention_day0 + 72 * hour_ms, retention_day0 + 71 * hour_ms);
  REQUIRE(s);
  CHECK(s->points.size() == 12);
}
