// The partition and ad actors under CAF's test_coordinator (no threads, manual time) with
// a real LevelDB store in a temporary directory.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "common/errc.hpp"
#include "common/time.hpp"
#include "actors/core/event_clock.hpp"
#include "actors/core/id_runs.hpp"
#include "actors/core/query_rules.hpp"
#include "actors/core/rollup.hpp"
#include "messages/type_ids.hpp"
#include "actors/ad_actor.hpp"
#include "actors/checkpoint_writer.hpp"
#include "persistence/key_codec.hpp"
#include "actors/partition_actor.hpp"
#include "actors/retention_actor.hpp"
#include "persistence/store.hpp"
#include "tests/support/test_support.hpp"

using namespace adclick;

namespace {

/// Click id `n` of the general path: n in bytes 0 to 7 and byte 11 set, so that it does
/// not follow the sequenced layout (actors/core/id_runs), whose ids never need a lookup.
click_id general_id(std::uint64_t n) {
  click_id id{};
  for (int i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(n >> (8 * i));
  id[11] = 0x80;
  return id;
}

constexpr std::int64_t t0 = 1'764'300'000'000;  // a minute boundary

struct test_config : caf::actor_system_config {
  test_config() {
    add_message_types<caf::id_block::adclick>();
    set("scheduler.policy", caf::atom("testing"));
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

/// A writer that fails its first `failures` writes (a full disk), then writes for real.
/// `attempts` counts every write it was asked for.
caf::behavior flaky_writer(caf::event_based_actor*, store* db, std::shared_ptr<int> failures,
                           std::shared_ptr<int> attempts) {
  return {[=](checkpoint& cp) -> checkpoint_result {
    ++*attempts;
    if (*failures > 0) {
      --*failures;
      return {false, "disk full", 0, std::move(cp)};
    }
    auto b = checkpoint_batch(cp);
    if (auto err = db->write(b)) return {false, describe(err), 0, std::move(cp)};
    return {true, {}, 0, {}};
  }};
}

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<store> db;
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scheduler::test_coordinator& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::shared_ptr<ack_cursor> cursor = std::make_shared<ack_cursor>();
  window_rules rules;  // defaults: 5 s out of order, 10 min lateness, 1 h dedup horizon
  std::uint32_t partition_id = 0;
  std::uint32_t partitions = 1;  // every ad belongs to partition 0 unless a test says otherwise
  caf::actor writer;
  caf::actor partition;
  std::uint32_t max_pending = 1000;  ///< checkpoint.max-pending
  std::size_t max_active = 0;        ///< actors.max-active of this partition (0: no limit)
  caf::actor live_hub;               ///< where live updates go, if set before start()

  fixture() { reopen_store(); }
  ~fixture() {
    stop();
  }

  /// An empty store with the fixture's current rules and partition count (`format`: marked
  /// with that format instead of the current one).
  void recreate_store(std::uint32_t format = 0) {
    db.reset();
    std::filesystem::remove_all(dir.str("db"));
    reopen_store(format);
  }

  void reopen_store(std::uint32_t format = 0) {
    db.reset();
    store::options o;
    o.partitions = partitions;
    o.rules = rules;
    o.sync = false;
    o.create_format = format;
    auto s = store::open(dir.str("db"), o);
    REQUIRE(s);
    db = std::move(*s);
  }

  void start(caf::actor w = {}) {
    writer = w ? w : sys.spawn(checkpoint_writer, db.get(), std::function<void()>{});
    partition_config pc;
    pc.partition = partition_id;
    pc.partitions = partitions;
    pc.db = db.get();
    pc.writer = writer;
    pc.cursor = cursor;
    pc.checkpoint_interval = std::chrono::seconds(1);
    pc.checkpoint_max_pending = max_pending;
    pc.rules = rules;
    pc.idle_timeout = std::chrono::seconds(10);
    pc.max_active_ads = max_active;
    pc.live_hub = live_hub;
    partition = sys.spawn(partition_actor, pc);
    sched.run();
  }

  /// Stops the partition, reopens the store and starts again: what a restart keeps is
  /// what is durable.
  void restart() {
    stop();
    reopen_store();
    cursor = std::make_shared<ack_cursor>();
    start();
  }

  void stop() {
    if (partition) caf::anon_send_exit(partition, caf::exit_reason::user_shutdown);
    if (writer) caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    sched.run();
    partition = writer = nullptr;
  }

  std::uint64_t next_id = 1;
  /// The click id of number n (ingest_ids): of the general path unless a test says otherwise.
  std::function<click_id(std::uint64_t)> make_id = general_id;

  /// One message per entry: {stream_seq, {(ad, event_time), ...}}; every click a new id.
  void ingest(const std::vector<std::pair<std::uint64_t, std::vector<std::pair<std::uint64_t, std::int64_t>>>>& msgs) {
    std::vector<std::pair<std::uint64_t, std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>>>> with_ids;
    for (const auto& [seq, clicks] : msgs) {
      auto& m = with_ids.emplace_back(seq, std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>>{});
      for (const auto& [ad, t] : clicks) m.second.emplace_back(ad, t, next_id++);
    }
    ingest_ids(with_ids);
  }

  /// One message per entry: {stream_seq, {(ad, event_time, id number), ...}}.
  /// `run` false: only queued (the test steps the scheduler itself).
  void ingest_ids(
    const std::vector<std::pair<std::uint64_t, std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>>>>& msgs,
    bool run = true) {
    ingest_batch b;
    b.partition = partition_id;
    for (const auto& [seq, clicks] : msgs) {
      fetched_message m;
      m.stream_seq = seq;
      m.publish_ms = now_ms();
      m.first_click = static_cast<std::uint32_t>(b.clicks.size());
      m.click_count = static_cast<std::uint32_t>(clicks.size());
      for (const auto& [ad, t, id] : clicks) {
        click c;
        c.ad_id = ad;
        c.campaign_id = ad / 10 + 1;  // as the load generator names them
        c.advertiser_id = ad / 100 + 1;
        c.event_time_ms = t;
        c.id = make_id(id);
        b.clicks.push_back(c);
      }
      b.messages.push_back(m);
    }
    cursor->batches_sent.fetch_add(1);  // as the ingress counts what it sends
    caf::anon_send(partition, std::move(b));
    if (run) sched.run();
  }

  void tick() {
    sched.advance_time(std::chrono::seconds(1));
    sched.run();
  }

  /// The ad's series, or the error the partition answered with.
  caf::expected<series> ask(const series_query& q) {
    caf::scoped_actor self{sys};
    self->send(partition, q);
    sched.run();
    caf::expected<series> out{series{}};
    self->receive([&](series& s) { out = std::move(s); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  series query(std::uint64_t ad, bool billing = false, granularity g = granularity::minute) {
    auto width = g == granularity::minute ? minute_ms : g == granularity::hour ? hour_ms : day_ms;
    auto s = ask(series_query{entity::ad, ad, bucket_start(t0 - 10 * minute_ms, width),
                              bucket_start(t0 + 10 * minute_ms, width) + width, g, billing});
    if (!s) FAIL(adclick::describe(s.error()));
    return *s;
  }

  /// The ad as admin inspect shows it; not active (and not passivated) if the partition
  /// answered with an error (an ad that never counted).
  ad_status inspect(std::uint64_t ad) {
    caf::scoped_actor self{sys};
    self->send(partition, inspect_atom_v, ad);
    sched.run();
    ad_status out;
    out.ad_id = ad;
    self->receive([&](ad_status& s) { out = s; }, [&](caf::error&) {});
    return out;
  }

  partition_status status() {
    caf::scoped_actor self{sys};
    self->send(partition, status_atom_v);
    sched.run();
    partition_status out;
    self->receive([&](partition_status& s) { out = s; });
    return out;
  }
};

std::uint64_t count_at(const series& s, std::int64_t minute) {
  for (const auto& p : s.points)
    if (p.start_ms == minute) return p.count;
  return 0;
}

series_point point_at(const series& s, std::int64_t minute) {
  for (const auto& p : s.points)
    if (p.start_ms == minute) return p;
  return {minute, 0, bucket_state::open, 0};
}

}  // namespace

TEST_CASE_METHOD(fixture, "nothing is acked before its checkpoint is durable", "[actor][checkpoint]") {
  start();
  CHECK(cursor->ready);
  ingest({{1, {{10, t0}, {10, t0 + 1}, {11, t0 + minute_ms}}}, {2, {{10, t0 + 5}}}});
  // Counted (the live view sees it) but not durable, so not ackable.
  CHECK(count_at(query(10), t0) == 3);
  CHECK(cursor->durable_seq == 0);
  CHECK(test::must(db->read_minute(10, t0)).count == 0);

  tick();  // checkpoint.interval passes
  CHECK(cursor->durable_seq == 2);
  CHECK(test::must(db->read_minute(10, t0)).count == 3);
  CHECK(test::must(db->read_minute(11, t0 + minute_ms)).count == 1);
  auto pos = db->read_position(0);
  REQUIRE(pos);
  CHECK(pos->stream_seq == 2);
  CHECK(pos->outcomes[outcome::counted] == 4);
}

TEST_CASE_METHOD(fixture, "redelivered messages are not counted twice", "[actor][exactly-once]") {
  start();
  ingest({{1, {{10, t0}}}, {2, {{10, t0}}}});
  ingest({{2, {{10, t0}}}, {3, {{10, t0}}}});  // 2 is a redelivery
  CHECK(count_at(query(10), t0) == 3);
  CHECK(status().undecided == 3);  // outcomes are known at the next checkpoint
  CHECK(status().dispatched_seq == 3);
  tick();
  CHECK(status().outcomes[outcome::counted] == 3);
  CHECK(status().undecided == 0);
}

TEST_CASE_METHOD(fixture, "a click id seen before in its (ad, minute) is a duplicate, also after a restart",
                 "[actor][dedup]") {
  start();
  ingest_ids({{1, {{10, t0, 100}, {10, t0 + 1, 101}}}, {2, {{10, t0 + 2, 100}}}});  // 100 again
  CHECK(count_at(query(10), t0) == 2);
  tick();
  CHECK(status().outcomes[outcome::counted] == 2);
  CHECK(status().outcomes[outcome::duplicate] == 1);

  // The ids are durable with the counts: after a restart the same id is still known.
  restart();
  ingest_ids({{3, {{10, t0 + 5, 101}, {10, t0 + 6, 102}}}});
  CHECK(count_at(query(10), t0) == 3);
  tick();
  CHECK(status().outcomes[outcome::counted] == 3);
  CHECK(status().outcomes[outcome::duplicate] == 2);
  CHECK(status().outcomes.total() == 5);  // every arrival ends in exactly one outcome
}

TEST_CASE_METHOD(fixture, "a restarted partition resumes from its checkpoint and skips what it holds",
                 "[actor][recovery]") {
  start();
  ingest({{1, {{10, t0}, {10, t0}}}, {2, {{12, t0}}}});
  tick();
  REQUIRE(cursor->durable_seq == 2);
  ingest({{3, {{10, t0}}}});  // counted in memory, never checkpointed: lost with the crash
  restart();
  CHECK(cursor->durable_seq == 2);
  CHECK(status().outcomes[outcome::counted] == 3);
  // Served from the store before any ad actor exists again.
  CHECK(count_at(query(10), t0) == 2);
  // JetStream redelivers 2 (already durable) and 3 (not): only 3 counts, on the stored base.
  ingest({{2, {{12, t0}}}, {3, {{10, t0}}}});
  CHECK(count_at(query(10), t0) == 3);
  CHECK(count_at(query(12), t0) == 1);
  tick();
  CHECK(cursor->durable_seq == 3);
  CHECK(test::must(db->read_minute(10, t0)).count == 3);
}

TEST_CASE_METHOD(fixture, "a failed checkpoint acks nothing and its counts go into the next one",
                 "[actor][checkpoint]") {
  auto failures = std::make_shared<int>(1);
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest({{1, {{10, t0}}}});
  tick();  // the write fails
  CHECK(cursor->durable_seq == 0);
  CHECK(status().checkpoints == 0);
  CHECK(test::must(db->read_minute(10, t0)).count == 0);

  ingest({{2, {{11, t0}}}});  // ad 10 does not change again
  tick();                     // the write succeeds
  CHECK(cursor->durable_seq == 2);
  CHECK(test::must(db->read_minute(10, t0)).count == 1);  // carried over from the failed attempt
  CHECK(test::must(db->read_minute(11, t0)).count == 1);
}

TEST_CASE_METHOD(fixture, "a checkpoint starts early when enough messages are pending", "[actor][checkpoint]") {
  start();
  std::vector<std::pair<std::uint64_t, std::vector<std::pair<std::uint64_t, std::int64_t>>>> msgs;
  for (std::uint64_t seq = 1; seq <= 1000; ++seq) msgs.push_back({seq, {{seq % 7, t0}}});
  ingest(msgs);  // 1000 = checkpoint.max_pending, no timer needed
  CHECK(cursor->durable_seq == 1000);
}

namespace {
/// Finality without waiting: no out-of-orderness, no lateness, a 10-minute dedup horizon.
struct quick_windows : fixture {
  quick_windows() {
    rules.max_out_of_orderness_ms = 0;
    rules.allowed_lateness_ms = 0;
    rules.dedup_horizon_ms = 10 * minute_ms;
    recreate_store();  // the store records the rules it was created with
  }
};
}  // namespace

TEST_CASE_METHOD(quick_windows, "the watermark finalizes buckets, and a late click amends one", "[actor][watermark]") {
  start();
  ingest({{1, {{10, t0 + 1}, {10, t0 + 2}}}});
  CHECK(point_at(query(10), t0).state == bucket_state::open);
  ingest({{2, {{11, t0 + 2 * minute_ms}}}});  // watermark t0+2min: minutes t0 and t0+1min final
  auto p = point_at(query(10), t0);
  CHECK(p.state == bucket_state::final);
  CHECK(p.version == 1);
  CHECK(p.count == 2);

  ingest({{3, {{10, t0 + 30'000}}}});  // late for a final minute
  p = point_at(query(10), t0);
  CHECK(p.state == bucket_state::amended);
  CHECK(p.version == 2);
  CHECK(p.count == 3);
  tick();
  CHECK(status().outcomes[outcome::counted] == 3);
  CHECK(status().outcomes[outcome::late_amended] == 1);
  auto stored = test::must(db->read_minute(10, t0));
  CHECK(stored.state == bucket_state::amended);
  CHECK(stored.version == 2);
  CHECK(stored.count == 3);
  auto pos = test::must(db->read_position(0));
  CHECK(pos.watermark_ms == t0 + 2 * minute_ms);
}

TEST_CASE_METHOD(quick_windows, "too old and future clicks are rejected and counted", "[actor][watermark]") {
  start();
  ingest({{1, {{10, t0 + 20 * minute_ms}}}});                                   // watermark t0+20min
  ingest({{2, {{10, t0 + 9 * minute_ms}, {10, now_ms() + 3'600'000}, {10, t0 + 11 * minute_ms}}}});
  tick();
  auto s = status();
  CHECK(s.outcomes[outcome::rejected_too_old] == 1);
  CHECK(s.outcomes[outcome::rejected_future] == 1);
  CHECK(s.outcomes[outcome::late_amended] == 1);
  CHECK(s.outcomes[outcome::counted] == 1);
  CHECK(s.outcomes.total() == 4);
}

TEST_CASE_METHOD(quick_windows, "after a restart, buckets left open in the store are finalized when the watermark passes",
                 "[actor][watermark][recovery]") {
  start();
  ingest({{1, {{20, t0 + 5}}}});
  tick();
  CHECK(test::must(db->read_minute(20, t0)).state == bucket_state::open);
  restart();
  ingest({{2, {{21, t0 + 3 * minute_ms}}}});  // only ad 21 has clicks; ad 20 has no actor
  tick();
  auto stored = test::must(db->read_minute(20, t0));
  CHECK(stored.state == bucket_state::final);
  CHECK(stored.version == 1);
  CHECK(stored.count == 1);
  // And the finalization survives another restart without being repeated or lost.
  restart();
  CHECK(point_at(query(20), t0).state == bucket_state::final);
}

TEST_CASE_METHOD(quick_windows, "an ad brought back only to finalize a minute leaves memory at the next durable checkpoint",
                 "[actor][watermark][passivation]") {
  start();
  ingest({{1, {{20, t0 + 5}}}});
  for (int i = 0; i < 12; ++i) tick();  // idle 10 s, durable: passivated
  REQUIRE_FALSE(inspect(20).active);
  ingest({{2, {{21, t0 + 3 * minute_ms}}}});  // the watermark passes: ad 20 comes back to finalize
  tick();
  tick();
  CHECK(test::must(db->read_minute(20, t0)).state == bucket_state::final);
  CHECK_FALSE(inspect(20).active);  // not held for another idle timeout
  CHECK(inspect(21).active);        // a clicked ad is
  CHECK(point_at(query(20), t0).state == bucket_state::final);
}

namespace {
/// Run at the quick windows and at the defaults (10 min of lateness, 5 s out of order).
void settled_minutes_leave_memory_and_dedup_stays_exact(fixture& f) {
  f.start();
  // The watermark trails the newest event by max-out-of-orderness; a minute is final once
  // it passes the minute's end plus allowed-lateness.
  const auto finalizing = t0 + minute_ms + f.rules.allowed_lateness_ms + f.rules.max_out_of_orderness_ms;
  f.ingest_ids({{1, {{10, t0 + 1, 100}, {10, t0 + 2, 101}}}});
  f.ingest_ids({{2, {{11, finalizing, 900}}}});  // minute t0 final
  f.tick();                                      // durable: counts, ids, final state
  CHECK(f.inspect(10).minutes.size() == 1);
  CHECK(f.inspect(10).ids_in_memory == 2);
  f.ingest_ids({{3, {{10, finalizing + 1, 102}}}});  // ad 10 changes again, in an open minute
  f.tick();  // its flush knows the previous checkpoint is durable: minute t0 leaves memory
  auto s = f.inspect(10);
  CHECK(s.minutes.size() == 1);  // only the open minute
  CHECK(s.ids_in_memory == 1);

  // Late clicks for the dropped minute come back through its id filter: a new id amends
  // without reading the minute's ids; a known id costs one lookup of it (never a read of
  // all the minute's ids), and is a duplicate.
  const auto reads = f.db->id_reads();
  const auto lookups = f.db->id_lookups();
  f.ingest_ids({{4, {{10, t0 + 4, 103}}}});
  CHECK(count_at(f.query(10), t0) == 3);
  CHECK(f.db->id_lookups() == lookups);  // (a false positive would cost one: 0.5%)
  f.ingest_ids({{5, {{10, t0 + 3, 100}}}});
  CHECK(f.db->id_lookups() == lookups + 1);
  CHECK(f.db->id_reads() == reads);
  auto p = point_at(f.query(10), t0);
  CHECK(p.count == 3);
  CHECK(p.state == bucket_state::amended);
  CHECK(p.version == 2);
  f.tick();
  CHECK(f.status().outcomes[outcome::duplicate] == 1);
  CHECK(f.status().outcomes[outcome::late_amended] == 1);
}
}  // namespace

namespace {
/// Run at the quick windows and at the defaults: times follow the fixture's rules.
void sequenced_ids_are_exact_from_memory(fixture& f) {
  // Id n: minter n / 1000, sequence n % 1000 (the recommended layout).
  f.make_id = [](std::uint64_t n) { return to_click_id({n / 1000, static_cast<std::uint32_t>(n % 1000)}); };
  f.start();
  auto clicks = [&](std::uint64_t from, std::uint64_t to, std::int64_t t) {
    std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>> out;
    for (auto n = from; n < to; ++n) out.emplace_back(10, t, n);
    return out;
  };
  auto stored_runs = [&] { return recent_ids::parse_runs(f.db->read_runs(10, t0).value()).value_or(std::vector<id_span>{}); };
  std::uint64_t seq = 1;
  f.ingest_ids({{seq++, clicks(2000, 2100, t0 + 1)}});
  for (int i = 0; i < 4; ++i) f.tick();  // durable, and the generations turned over
  // Stored as one runs row, never as ids.
  std::vector<click_id> chunk_ids;
  REQUIRE_FALSE(f.db->read_ids(10, t0, chunk_ids));
  CHECK(chunk_ids.empty());
  CHECK(stored_runs() == std::vector<id_span>{{2, 0, 99}});
  const auto lookups = f.db->id_lookups();
  f.ingest_ids({{seq++, clicks(2000, 2050, t0 + 1)}});  // repeats: from the runs
  CHECK(f.db->id_lookups() == lookups);
  f.tick();
  CHECK(f.status().outcomes[outcome::duplicate] == 50);

  f.restart();  // the minute comes back from its runs row
  f.ingest_ids({{seq++, clicks(2090, 2110, t0 + 1)}});  // 10 repeats, 10 new
  f.tick();
  CHECK(f.status().outcomes[outcome::duplicate] == 50 + 10);  // (outcomes count on across restarts)
  CHECK(count_at(f.query(10), t0) == 110);
  CHECK(f.db->id_lookups() == lookups);
  CHECK(stored_runs() == std::vector<id_span>{{2, 0, 109}});  // rewritten whole

  // Final, then out of memory: a late click brings the minute back from its filter row
  // and its runs row, with no read of its ids.
  const auto finalizing = t0 + minute_ms + f.rules.allowed_lateness_ms + f.rules.max_out_of_orderness_ms;
  f.ingest_ids({{seq++, {{11, finalizing, 9000}}}});
  f.tick();
  f.ingest_ids({{seq++, {{10, finalizing + 1, 9001}}}});
  f.tick();
  REQUIRE(f.inspect(10).minutes.size() == 1);  // minute t0 left memory
  const auto reads_before_late = f.db->id_reads();
  f.ingest_ids({{seq++, clicks(2105, 2115, t0 + 2)}});  // 5 repeats, 5 new: amended
  f.tick();
  CHECK(f.status().outcomes[outcome::duplicate] == 60 + 5);
  CHECK(f.status().outcomes[outcome::late_amended] == 5);
  auto p = point_at(f.query(10), t0);
  CHECK(p.count == 115);
  CHECK(p.state == bucket_state::amended);
  CHECK(f.db->id_lookups() == lookups);
  CHECK(f.db->id_reads() == reads_before_late);
  CHECK(stored_runs() == std::vector<id_span>{{2, 0, 114}});

  // After a restart too (the amended minute from its rows again).
  f.restart();
  f.ingest_ids({{seq++, clicks(2110, 2116, t0 + 2)}});  // 5 repeats, 1 new
  f.tick();
  CHECK(f.status().outcomes[outcome::duplicate] == 65 + 5);
  CHECK(count_at(f.query(10), t0) == 116);
}
}  // namespace

TEST_CASE_METHOD(quick_windows, "sequenced ids are exact from memory: across a restart and a final minute, no lookup",
                 "[actor][dedup][sequenced]") {
  sequenced_ids_are_exact_from_memory(*this);
}

TEST_CASE_METHOD(fixture, "sequenced ids are exact from memory at the default windows",
                 "[actor][dedup][sequenced]") {
  sequenced_ids_are_exact_from_memory(*this);
}

TEST_CASE_METHOD(quick_windows, "settled final buckets leave memory once durable, and dedup stays exact for them",
                 "[actor][dedup][memory]") {
  settled_minutes_leave_memory_and_dedup_stays_exact(*this);
}

TEST_CASE_METHOD(fixture, "settled final buckets leave memory once durable at the default windows, and dedup stays exact",
                 "[actor][dedup][memory]") {
  settled_minutes_leave_memory_and_dedup_stays_exact(*this);
}

TEST_CASE_METHOD(quick_windows, "a stored id filter that misses ids of its bucket is not trusted",
                 "[actor][dedup][memory]") {
  // The filter's "no" is taken without a lookup: a filter that lost ids (an empty one, one
  // from an older bucket) would let a repeat count twice. The stored ids decide instead.
  start();
  ingest_ids({{1, {{10, t0 + 1, 100}, {10, t0 + 2, 101}}}});
  ingest_ids({{2, {{11, t0 + 2 * minute_ms, 900}}}});  // minute t0 final
  tick();
  stop();
  id_filter only_one;
  only_one.add(general_id(100));
  std::uint64_t seq = 3;
  for (const auto& bytes : {id_filter{}.serialize(), only_one.serialize(), std::string("\xB1junk")}) {
    store::batch b;
    b.put_filter(10, {t0, bytes});
    REQUIRE_FALSE(db->write(b));
    restart();
    ingest_ids({{seq++, {{10, t0 + 3, 101}}}});  // a late repeat of an id the filter misses
    CHECK(count_at(query(10), t0) == 2);
    tick();
    stop();
  }
  start();
  CHECK(status().outcomes[outcome::duplicate] == 3);
}

TEST_CASE_METHOD(quick_windows, "a final minute whose filter row is unusable stays exact for sequenced ids",
                 "[actor][dedup][sequenced]") {
  // The filter row is not their only copy: the runs row is, and the fallback (the chunks
  // and the runs row) reads it.
  make_id = [](std::uint64_t n) { return to_click_id({5, static_cast<std::uint32_t>(n)}); };
  start();
  ingest_ids({{1, {{10, t0 + 1, 0}, {10, t0 + 2, 1}}}});
  ingest_ids({{2, {{11, t0 + 2 * minute_ms, 900}}}});  // minute t0 final
  tick();
  stop();
  std::uint64_t seq = 3;
  for (const auto& bytes : {id_filter{}.serialize(), std::string("\xB1junk"), std::string()}) {
    store::batch b;
    b.put_filter(10, {t0, bytes});
    REQUIRE_FALSE(db->write(b));
    restart();
    ingest_ids({{seq++, {{10, t0 + 3, 1}}}});  // a late repeat
    CHECK(count_at(query(10), t0) == 2);
    tick();
    stop();
  }
  start();
  CHECK(status().outcomes[outcome::duplicate] == 3);
}

TEST_CASE_METHOD(quick_windows, "sequenced ids a format-5 build stored as ids stay exact",
                 "[actor][dedup][sequenced]") {
  // Format 5 wrote every id into chunks and no runs row: an open minute and a final one
  // (with a bare filter of every id), as that build left them.
  recreate_store(5);
  const auto open_minute = t0 + 5 * minute_ms;
  {
    auto cp = checkpoint{};
    cp.partition = 0;
    cp.number = 1;
    cp.stream_seq = 1;
    cp.watermark_ms = open_minute;
    ad_delta d;
    d.ad_id = 10;
    d.campaign_id = 2;  // as ingest names them
    d.advertiser_id = 1;
    d.new_owner = true;
    std::vector<click_id> final_ids, open_ids;
    for (std::uint32_t q = 0; q < 20; ++q) final_ids.push_back(to_click_id({5, q}));
    for (std::uint32_t q = 100; q < 130; ++q) open_ids.push_back(to_click_id({5, q}));
    d.minutes.push_back({t0, final_ids.size(), bucket_state::final, 1});
    d.minutes.push_back({open_minute, open_ids.size(), bucket_state::open, 0});
    id_filter every;
    for (const auto& id : final_ids) every.add(id);
    d.filters.push_back({t0, every.serialize()});
    d.ids.push_back({t0, final_ids});
    d.ids.push_back({open_minute, open_ids});
    cp.ads.push_back(std::move(d));
    auto b = checkpoint_batch(cp);
    REQUIRE_FALSE(db->write(b));
  }
  reopen_store();  // this build: format 6 from here
  REQUIRE(db->format() == keys::format_version);
  make_id = [](std::uint64_t n) { return to_click_id({5, static_cast<std::uint32_t>(n)}); };
  start();
  std::uint64_t seq = 2;
  // Repeats in both minutes, and a new id in the open one.
  ingest_ids({{seq++, {{10, open_minute + 1, 105}, {10, open_minute + 2, 130}, {10, t0 + 3, 7}}}});
  tick();
  CHECK(status().outcomes[outcome::duplicate] == 2);
  CHECK(count_at(query(10), open_minute) == 31);
  // The format-5 ids stay in the chunks, on the general path (found by lookups); the
  // open minute's row holds the new one.
  std::vector<id_span> row;
  REQUIRE(keys::decode_runs_row(db->read_runs(10, open_minute).value(), row));
  CHECK(row == std::vector<id_span>{{5, 130, 130}});
  restart();
  ingest_ids({{seq++, {{10, open_minute + 1, 110}, {10, open_minute + 1, 130}, {10, t0 + 3, 19}}}});
  tick();
  CHECK(status().outcomes[outcome::duplicate] == 5);
  CHECK(count_at(query(10), open_minute) == 31);
  CHECK(count_at(query(10), t0) == 20);
}

TEST_CASE_METHOD(quick_windows, "a runs row that does not parse stops the ad rather than count on a guess",
                 "[actor][dedup][sequenced]") {
  make_id = [](std::uint64_t n) { return to_click_id({5, static_cast<std::uint32_t>(n)}); };
  start();
  ingest_ids({{1, {{10, t0 + 1, 0}, {10, t0 + 2, 1}}}});
  tick();
  stop();
  store::batch b;
  b.put_runs(10, {t0, "\xB3junk"});
  REQUIRE_FALSE(db->write(b));
  restart();
  ingest_ids({{2, {{10, t0 + 3, 1}}}});  // a repeat: its minute must come back first
  tick();
  tick();
  CHECK(db->read_minute(10, t0).value().count == 2);  // never counted twice
  CHECK(cursor->durable_seq.load() < 2);               // nor acked: a restart sees it again
}

namespace {
/// Run at the quick windows (10 min horizon) and at the defaults (1 h horizon, 10 min
/// lateness, 5 s out of order): times follow the fixture's rules.
void retention_deletes_past_the_horizon(fixture& f) {
  const auto& r = f.rules;
  f.start();
  f.ingest_ids({{1, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});
  f.ingest_ids({{2, {{10, t0 + 3 * minute_ms, 3}}}});
  f.tick();
  auto stats = std::make_shared<retention_stats>();
  retention_config rc;
  rc.db = f.db.get();
  rc.stats = stats;
  rc.step_keys = 1;  // a pass of several steps
  auto retention = f.sys.spawn(retention_actor, rc);
  caf::anon_send(retention, sync_atom_v);  // a pass now
  f.sched.run();
  CHECK(stats->get().purged_keys == 0);  // nothing is past the horizon yet

  // A watermark that puts minute t0 (not t0+3min) past the horizon: its floor is t0+2min.
  const auto newest = t0 + 2 * minute_ms + r.dedup_horizon_ms + r.max_out_of_orderness_ms;
  f.ingest_ids({{3, {{11, newest, 900}}}});
  f.tick();
  caf::anon_send(retention, sync_atom_v);
  f.sched.run();
  const auto s = stats->get();
  CHECK(s.purged_keys >= 1);
  CHECK(s.passes == 2);
  CHECK(s.dedup_floor_ms == t0 + 2 * minute_ms);
  std::vector<click_id> ids;
  REQUIRE_FALSE(f.db->read_ids(10, t0, ids));
  CHECK(ids.empty());
  REQUIRE_FALSE(f.db->read_ids(10, t0 + 3 * minute_ms, ids));
  CHECK(ids.size() == 1);  // past the floor: kept

  // A repeat of a deleted id, and a new one, for that minute: too old, never counted.
  f.ingest_ids({{4, {{10, t0 + 5, 1}, {10, t0 + 6, 77}}}});
  f.tick();
  CHECK(count_at(f.query(10), t0) == 2);
  CHECK(f.status().outcomes[outcome::rejected_too_old] == 2);
  // And after a restart, which restores the watermark from the store.
  caf::anon_send_exit(retention, caf::exit_reason::user_shutdown);  // it holds the store
  f.sched.run();
  f.restart();
  f.ingest_ids({{5, {{10, t0 + 7, 2}}}});
  f.tick();
  CHECK(count_at(f.query(10), t0) == 2);
  CHECK(f.status().outcomes[outcome::rejected_too_old] == 3);
}
}  // namespace

TEST_CASE_METHOD(quick_windows, "retention deletes the ids of minutes past the horizon, and their clicks are too old",
                 "[actor][retention][dedup]") {
  retention_deletes_past_the_horizon(*this);
}

TEST_CASE_METHOD(fixture, "retention at the default windows deletes the ids of minutes past the horizon, and their "
                 "clicks are too old",
                 "[actor][retention][dedup]") {
  retention_deletes_past_the_horizon(*this);
}

TEST_CASE_METHOD(fixture, "an idle ad is passivated once durable and comes back from the store", "[actor][passivation]") {
  start();
  ingest_ids({{1, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});
  tick();
  CHECK(inspect(10).active);
  for (int i = 0; i < 11; ++i) tick();  // 11 s idle, everything durable
  CHECK_FALSE(inspect(10).active);
  CHECK(status().passivated == 1);
  CHECK(count_at(query(10), t0) == 2);  // served from the store
  ingest_ids({{2, {{10, t0 + 3, 2}, {10, t0 + 4, 3}}}});  // id 2 again: still a duplicate
  CHECK(inspect(10).active);
  CHECK(count_at(query(10), t0) == 3);
  tick();
  CHECK(status().outcomes[outcome::duplicate] == 1);
}

TEST_CASE_METHOD(fixture, "a queried ad counts as active again: the idle sweep passes over it to the idle ones",
                 "[actor][passivation]") {
  start();
  ingest_ids({{1, {{10, t0 + 1, 1}}}});  // ad 10 first, then ad 11: 10 is the longest idle
  tick();
  ingest_ids({{2, {{11, t0 + 2, 2}}}});
  for (int i = 0; i < 5; ++i) tick();
  CHECK(count_at(query(10), t0) == 1);  // 6 s in: asked, so active again
  for (int i = 0; i < 6; ++i) tick();   // 12 s in: 11 idle for 11 s, 10 for 6 s
  CHECK_FALSE(inspect(11).active);
  CHECK(inspect(10).active);
  for (int i = 0; i < 5; ++i) tick();  // 17 s in: 10 idle for 11 s
  CHECK_FALSE(inspect(10).active);
}

TEST_CASE_METHOD(fixture, "above max-active ads the longest idle durable ones stop early, and counting stays exact",
                 "[actor][passivation]") {
  max_active = 4;
  start();
  std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>> first, second;
  for (std::uint64_t ad = 10; ad < 16; ++ad) first.emplace_back(ad, t0 + 1, ad);  // id = ad
  ingest_ids({{1, first}});
  tick();
  tick();  // durable, then over the limit: down to 4 (7/8 of 4, rounded up)
  auto s = status();
  CHECK(s.active_ads == 4);
  CHECK(s.passivated_over_limit == 2);
  // Four new ads, and every first ad again with its id (a duplicate) and a new one.
  for (std::uint64_t ad = 16; ad < 20; ++ad) second.emplace_back(ad, t0 + 2, ad);
  ingest_ids({{2, second}});
  tick();
  tick();  // the new ones were active last: they stay
  for (std::uint64_t ad = 16; ad < 20; ++ad) CHECK(inspect(ad).active);
  for (std::uint64_t ad = 10; ad < 16; ++ad) CHECK_FALSE(inspect(ad).active);
  std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>> again;
  for (std::uint64_t ad = 10; ad < 16; ++ad) {
    again.emplace_back(ad, t0 + 3, ad);
    again.emplace_back(ad, t0 + 4, 100 + ad);
  }
  ingest_ids({{3, again}});
  for (int i = 0; i < 3; ++i) tick();
  s = status();
  CHECK(s.active_ads <= 4);
  CHECK(s.outcomes[outcome::duplicate] == 6);
  CHECK(s.outcomes[outcome::counted] == 6 + 4 + 6);
  for (std::uint64_t ad = 10; ad < 20; ++ad) CHECK(count_at(query(ad), t0) == (ad < 16 ? 2u : 1u));
}

TEST_CASE_METHOD(fixture, "without max-active every ad stays until its idle timeout", "[actor][passivation]") {
  start();
  std::vector<std::tuple<std::uint64_t, std::int64_t, std::uint64_t>> clicks;
  for (std::uint64_t ad = 10; ad < 30; ++ad) clicks.emplace_back(ad, t0 + 1, ad);
  ingest_ids({{1, clicks}});
  for (int i = 0; i < 5; ++i) tick();
  CHECK(status().active_ads == 20);
  CHECK(status().passivated_over_limit == 0);
}

TEST_CASE_METHOD(fixture, "status sums the active ads' dedup memory and forgets a passivated ad's",
                 "[actor][passivation][dedup]") {
  start();
  ingest_ids({{1, {{10, t0 + 1, 1}, {10, t0 + 2, 2}, {10, t0 + 3, 2}}}, {2, {{11, t0 + 4, 3}}}});
  tick();
  auto s = status();
  CHECK(s.dedup.ids == 3);
  CHECK(s.dedup.open_clicks == 3);
  CHECK(s.dedup.bytes >= 3 * sizeof(click_id));
  for (int i = 0; i < 11; ++i) tick();  // 11 s idle, everything durable: both leave memory
  s = status();
  CHECK(s.passivated == 2);
  CHECK(s.dedup.ids == 0);
  CHECK(s.dedup.bytes == 0);
  CHECK(s.dedup.open_clicks == 0);
}

TEST_CASE_METHOD(fixture, "ids leave memory a few seconds after they are durable and still catch repeats",
                 "[actor][dedup]") {
  start();
  ingest_ids({{1, {{10, t0 + 1, 1}, {10, t0 + 2, 2}, {10, t0 + 3, 3}}}});
  std::uint64_t seq = 2;
  for (int i = 0; i < 12; ++i) {  // the ad keeps counting (new ids), checkpoints every second
    ingest_ids({{seq, {{10, t0 + 10 + i, 100 + seq}}}});
    ++seq;
    tick();
  }
  auto s = inspect(10);
  CHECK(s.active);
  REQUIRE(s.minutes.size() == 1);
  CHECK(s.minutes[0].state == bucket_state::open);  // still open: the filter, not finality, did it
  CHECK(s.ids_in_memory < 10);                        // the first ids are gone from memory
  const auto lookups = db->id_lookups();
  ingest_ids({{seq, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});  // repeats of durable ids
  CHECK(db->id_lookups() == lookups + 2);
  tick();
  CHECK(status().outcomes[outcome::duplicate] == 2);
  CHECK(count_at(query(10), t0) == 3 + 12);
}

TEST_CASE_METHOD(fixture, "ids stay in memory while checkpoints fail, however long, and catch repeats",
                 "[actor][dedup][checkpoint]") {
  // The generations rotate only at a flush whose predecessors are durable: an id that left
  // memory while its checkpoint was failing would be in neither memory nor the store.
  auto failures = std::make_shared<int>(6);  // 1+1+2+4+8+16 s of a full disk, longer than the loop below
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest_ids({{1, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});
  std::uint64_t seq = 2;
  const auto window_s = std::chrono::duration_cast<std::chrono::seconds>(recent_window).count();
  // 12 s of failing checkpoints (the disk stays full for 16), and at least 3 windows.
  const int rounds = static_cast<int>(std::max<std::int64_t>(3 * window_s + 2, 12));
  for (int i = 0; i < rounds; ++i) {  // new ids keep arriving, checkpoints keep failing
    ingest_ids({{seq, {{10, t0 + 10 + i, 100 + seq}}}});
    ++seq;
    tick();
  }
  const auto counted = 2 + rounds;
  REQUIRE(*failures > 0);
  REQUIRE(cursor->durable_seq == 0);
  CHECK(inspect(10).ids_in_memory == static_cast<std::size_t>(counted));  // every id counted so far
  const auto lookups = db->id_lookups();
  ingest_ids({{seq++, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});  // repeats while nothing is durable
  CHECK(db->id_lookups() == lookups);                        // memory answered
  for (int i = 0; i < 120 && cursor->durable_seq != seq - 1; ++i) tick();  // the disk recovers
  REQUIRE(cursor->durable_seq == seq - 1);
  for (int i = 0; i < 3 * window_s; ++i) tick();  // and the ids age out of memory
  CHECK(inspect(10).ids_in_memory == 0);
  ingest_ids({{seq++, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});  // repeats after recovery
  tick();
  restart();
  ingest_ids({{seq++, {{10, t0 + 1, 1}, {10, t0 + 2, 2}}}});  // and after a restart
  tick();
  CHECK(count_at(query(10), t0) == counted);
  CHECK(status().outcomes[outcome::duplicate] == 6);  // three rounds of two repeats (outcomes are durable)
  std::vector<click_id> ids;
  REQUIRE_FALSE(db->read_ids(10, t0, ids));
  CHECK(ids.size() == static_cast<std::size_t>(counted));
}

TEST_CASE_METHOD(fixture, "nothing that is not yet durable is passivated", "[actor][passivation]") {
  auto failures = std::make_shared<int>(1000);  // the disk is full for the whole test
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest_ids({{1, {{10, t0 + 1, 1}}}});
  for (int i = 0; i < 30; ++i) tick();  // 30 s idle, but no checkpoint ever succeeded
  CHECK(inspect(10).active);
  CHECK(status().passivated == 0);
  CHECK(count_at(query(10), t0) == 1);  // the count lives only in memory: still served
}

TEST_CASE_METHOD(fixture, "the ids of a failed checkpoint and of the next one for the same (ad, minute) are all stored",
                 "[actor][checkpoint][dedup]") {
  // Issue 6, item 2: the carried delta and the new one used to land in one checkpoint
  // with the same id-chunk key, the second overwriting the first.
  auto failures = std::make_shared<int>(1);
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest_ids({{1, {{10, t0 + 1, 100}}}});  // id A
  tick();                                  // the write fails: A is carried
  ingest_ids({{2, {{10, t0 + 2, 101}}}});  // id B, same ad and minute
  tick();                                  // the write succeeds
  REQUIRE(cursor->durable_seq == 2);
  std::vector<click_id> ids;
  REQUIRE_FALSE(db->read_ids(10, t0, ids));
  CHECK(ids.size() == 2);
  restart();
  ingest_ids({{3, {{10, t0 + 3, 100}}}});  // A republished: a duplicate
  tick();
  CHECK(count_at(query(10), t0) == 2);
  CHECK(status().outcomes[outcome::duplicate] == 1);
}

TEST_CASE_METHOD(fixture, "failing checkpoints back off, are reported, and recover", "[actor][checkpoint]") {
  auto failures = std::make_shared<int>(1'000'000);
  auto attempts = std::make_shared<int>(0);
  start(sys.spawn(flaky_writer, db.get(), failures, attempts));
  ingest_ids({{1, {{10, t0 + 1, 1}}}});
  for (int i = 0; i < 60; ++i) tick();  // a minute of a full disk
  // 1 s, then 1, 2, 4, 8, 16, 30 s between attempts: 7 in a minute, not 60.
  CHECK(*attempts >= 5);
  CHECK(*attempts <= 8);
  auto s = status();
  CHECK(s.checkpoint_failures == static_cast<std::uint64_t>(*attempts));
  CHECK(s.failing_since_ms != 0);
  CHECK(s.last_checkpoint_error == "disk full");
  CHECK(s.durable_seq == 0);
  CHECK(now_ms() - s.durable_at_ms >= 0);
  CHECK(cursor->durable_seq == 0);  // nothing acked
  *failures = 0;                    // space is back
  for (int i = 0; i < 31; ++i) tick();
  s = status();
  CHECK(s.failing_since_ms == 0);
  CHECK(s.durable_seq == 1);
  CHECK(cursor->durable_seq == 1);
  CHECK(test::must(db->read_minute(10, t0)).count == 1);
}

TEST_CASE_METHOD(quick_windows, "the billing view shows a final bucket only once it is durable", "[actor][billing]") {
  // Issue 6, item 5: queries overlaid memory on the store, so a minute final in memory
  // was billed before a crash could still take it back.
  auto failures = std::make_shared<int>(1);
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest({{1, {{10, t0 + 1}}}, {2, {{11, t0 + 2 * minute_ms}}}});  // minute t0 final, in memory only
  CHECK(point_at(query(10), t0).state == bucket_state::final);  // live shows it
  CHECK(query(10, true).points.empty());                         // billing does not
  tick();                                                        // the write fails
  CHECK(query(10, true).points.empty());
  tick();  // the retry succeeds
  REQUIRE(cursor->durable_seq == 2);
  auto billed = query(10, true);
  REQUIRE(billed.points.size() == 1);
  CHECK(billed.points[0].state == bucket_state::final);
  CHECK(billed.points[0].count == 1);
  CHECK(billed.final_before_ms == t0 + 2 * minute_ms);
  // Its FinalCount row came after a failed write, which may have reached the log anyway:
  // the publisher checks the stream for it first.
  std::vector<outbox_message> rows;
  REQUIRE_FALSE(db->scan_outbox(0, 0, 10, rows));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].check_since_ms != 0);
}

TEST_CASE_METHOD(fixture, "a rebase makes the partition count in the new stream from its first message",
                 "[actor][recovery]") {
  start();
  CHECK(cursor->stream_created_ns == 0);
  caf::anon_send(partition, rebase_atom_v, std::int64_t{111});  // adopt the first stream
  sched.run();
  CHECK(cursor->stream_created_ns == 111);
  ingest({{1, {{10, t0}}}, {2, {{10, t0}}}, {3, {{10, t0}}}});
  tick();
  REQUIRE(cursor->durable_seq == 3);
  // The stream is recreated: its sequences start again at 1.
  caf::anon_send(partition, rebase_atom_v, std::int64_t{222});
  sched.run();
  CHECK(cursor->stream_created_ns == 222);
  CHECK(cursor->durable_seq == 0);
  ingest({{1, {{10, t0}}}});  // not a redelivery: the first message of the new stream
  CHECK(count_at(query(10), t0) == 4);
  tick();
  auto pos = test::must(db->read_position(0));
  CHECK(pos.stream_seq == 1);
  CHECK(pos.stream_created_ns == 222);
  CHECK(pos.outcomes[outcome::counted] == 4);  // stored counts stay
}

namespace {
struct sixteen_partitions : fixture {
  sixteen_partitions() {
    partition_id = 3;
    partitions = 16;
    recreate_store();
  }
};
std::vector<outbox_message> outbox_of(store& db, std::uint32_t partition) {
  std::vector<outbox_message> rows;
  REQUIRE_FALSE(db.scan_outbox(partition, 0, 1000, rows));
  return rows;
}
}  // namespace

TEST_CASE_METHOD(sixteen_partitions, "a click on another partition's subject is rejected to the DLQ, never counted",
                 "[actor][dlq]") {
  start();
  // Ad 19 belongs to partition 3 of 16; ad 10 to partition 10.
  ingest_ids({{1, {{19, t0 + 1, 1}, {10, t0 + 2, 2}}}});
  tick();
  CHECK(count_at(query(19), t0) == 1);
  auto never = ask(series_query{entity::ad, 10, t0, t0 + minute_ms, granularity::minute, false});
  REQUIRE_FALSE(never);
  CHECK(never.error().code() == static_cast<std::uint8_t>(errc::not_found));  // an ad that counted nothing is unknown
  CHECK_FALSE(inspect(10).active);
  CHECK_FALSE(inspect(10).passivated);
  auto s = status();
  CHECK(s.outcomes[outcome::rejected_wrong_partition] == 1);
  CHECK(s.outcomes.total() == 2);
  auto rows = outbox_of(*db, 3);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].type == outbox_message::kind::dlq);
  CHECK(rows[0].reason == "wrong_partition");
  CHECK(rows[0].subject == "adclick.dlq");
  CHECK(rows[0].msg_id == "0:1:0");  // stream (not adopted here: 0), sequence 1, first rejection
}

TEST_CASE_METHOD(quick_windows, "final and amended buckets become FinalCount rows in the checkpoint that decides them",
                 "[actor][outbox]") {
  start();
  ingest({{1, {{10, t0 + 1}}}, {2, {{11, t0 + 2 * minute_ms}}}});  // minute t0 of ad 10 final
  CHECK(outbox_of(*db, 0).empty());  // nothing durable yet
  tick();
  auto rows = outbox_of(*db, 0);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].type == outbox_message::kind::final_count);
  CHECK(rows[0].subject == "adclick.final.10");
  CHECK(rows[0].msg_id == "10:" + std::to_string(t0) + ":1");
  ingest({{3, {{10, t0 + 5}}}});  // late: amended, version 2
  tick();
  rows = outbox_of(*db, 0);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].msg_id == "10:" + std::to_string(t0) + ":2");
  CHECK(rows[1].seq > rows[0].seq);
  CHECK(test::must(db->read_position(0)).next_outbox_seq == rows[1].seq + 1);
}

TEST_CASE_METHOD(fixture, "ids counted before and after a rebase at the same stream sequence are all kept",
                 "[actor][recovery][dedup]") {
  // Id chunks were keyed by the checkpoint's stream sequence, which a rebase starts again.
  start();
  caf::anon_send(partition, rebase_atom_v, std::int64_t{111});
  sched.run();
  ingest_ids({{1, {{10, t0 + 1, 100}}}});  // id A at sequence 1 of the first stream
  tick();
  caf::anon_send(partition, rebase_atom_v, std::int64_t{222});
  sched.run();
  ingest_ids({{1, {{10, t0 + 2, 101}}}});  // id B at sequence 1 of the new stream
  tick();
  std::vector<click_id> ids;
  REQUIRE_FALSE(db->read_ids(10, t0, ids));
  CHECK(ids.size() == 2);
  restart();
  ingest_ids({{2, {{10, t0 + 3, 100}}}});  // A republished
  tick();
  CHECK(count_at(query(10), t0) == 2);
  CHECK(status().outcomes[outcome::duplicate] == 1);
}

TEST_CASE_METHOD(fixture, "a huge rejected message is cut for the DLQ, so that its row can always be published",
                 "[actor][dlq]") {
  start();
  ingest_batch b;
  fetched_message m;
  m.stream_seq = 1;
  m.publish_ms = now_ms();
  m.reject_count = 1;
  m.rejected[outcome::rejected_malformed] = 1;
  b.messages.push_back(m);
  b.rejects.push_back({outcome::rejected_malformed, std::string(1'000'000, '\xff')});
  caf::anon_send(partition, std::move(b));
  sched.run();
  tick();
  std::vector<outbox_message> rows;
  REQUIRE_FALSE(db->scan_outbox(0, 0, 10, rows));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].payload.size() == dlq_max_payload);
  CHECK(rows[0].original_bytes == 1'000'000);
  CHECK(status().outcomes[outcome::rejected_malformed] == 1);
}

namespace {

/// Checks every stored rollup against the minutes it covers: each ad's hours and days in
/// both views (against rollup() of its minutes), and campaign 1's minute, hour and day
/// shares (against the sum of its ads' stored minutes).
void check_rollups(fixture& f, const std::vector<std::uint64_t>& ads) {
  const auto day = bucket_start(t0, day_ms);
  for (bool billing : {false, true}) {
    for (auto ad : ads) {
      auto minutes = f.ask(series_query{entity::ad, ad, day, day + day_ms, granularity::minute, billing});
      REQUIRE(minutes);
      for (auto g : {granularity::hour, granularity::day}) {
        auto rolled = f.ask(series_query{entity::ad, ad, day, day + day_ms, g, billing});
        REQUIRE(rolled);
        auto expected = rollup(minutes->points, g, rolled->final_before_ms);
        keep_view(expected, billing);
        if (billing) {  // a billed hour is final: all of it before final_before
          expected.erase(std::remove_if(expected.begin(), expected.end(),
                                        [](const series_point& p) { return p.state == bucket_state::open; }),
                         expected.end());
        }
        INFO("ad " << ad << " " << to_string(g) << (billing ? " billing" : " live"));
        REQUIRE(rolled->points.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
          CHECK(rolled->points[i].start_ms == expected[i].start_ms);
          CHECK(rolled->points[i].count == expected[i].count);
          CHECK(rolled->points[i].state == expected[i].state);
          CHECK(rolled->points[i].version == expected[i].version);
        }
      }
    }
  }
  // Campaign 1 (ads 0-9): its stored shares are the sums of its ads' stored minutes.
  for (auto g : {granularity::minute, granularity::hour, granularity::day}) {
    std::map<std::int64_t, rollup_value> expected, stored;
    for (auto ad : ads) {
      if (ad / 10 + 1 != 1) continue;
      std::vector<series_point> points;
      REQUIRE_FALSE(f.db->scan_minutes(ad, day, day + day_ms, points));
      for (const auto& p : points)
        expected[bucket_start(p.start_ms, bucket_width(g))] += contribution({p.start_ms, p.count, p.state, p.version});
    }
    REQUIRE_FALSE(f.db->scan_group(entity::campaign, 1, g, day, day + day_ms,
                                   [&](std::int64_t start, std::uint32_t, const rollup_value& v) { stored[start] += v; }));
    INFO(to_string(g));
    CHECK(stored.size() == expected.size());
    for (const auto& [start, v] : expected) {
      CHECK(stored[start].count == v.count);
      CHECK(stored[start].open_minutes == v.open_minutes);
      CHECK(stored[start].amendments == v.amendments);
    }
  }
}

}  // namespace

TEST_CASE_METHOD(fixture, "hours, days and campaign shares follow their minutes through finality, amendments and restarts",
                 "[actor][rollup]") {
  start();
  ingest({{1, {{1, t0 + 1}, {2, t0 + 2}, {1, t0 + minute_ms}, {11, t0 + 3}}}});
  tick();
  check_rollups(*this, {1, 2, 11});
  CHECK(query(1, false, granularity::hour).points.at(0).count == 2);
  CHECK(query(1, false, granularity::hour).points.at(0).state == bucket_state::open);
  // Past the hour and its lateness: its minutes and then the hour become final.
  const auto next_hour = bucket_start(t0, hour_ms) + hour_ms;
  ingest({{2, {{2, next_hour + 11 * minute_ms}}}});
  tick();
  check_rollups(*this, {1, 2, 11});
  CHECK(query(1, true, granularity::hour).points.at(0).state == bucket_state::final);
  CHECK(query(1, true, granularity::hour).points.at(0).version == 1);
  // Two late clicks in two minutes of the hour: the hour is amended twice.
  ingest({{3, {{1, t0 + 5}, {1, t0 + 2 * minute_ms}}}});
  tick();
  check_rollups(*this, {1, 2, 11});
  auto hour = query(1, true, granularity::hour).points.at(0);
  CHECK(hour.count == 4);
  CHECK(hour.state == bucket_state::amended);
  CHECK(hour.version == 3);
  restart();
  check_rollups(*this, {1, 2, 11});
  ingest({{4, {{2, t0 + 7}}}});  // late, after a restart: seeded from the store
  tick();
  check_rollups(*this, {1, 2, 11});
  CHECK(query(2, false, granularity::day).points.at(0).count == 3);
}

TEST_CASE_METHOD(fixture, "an ad's campaign is the one its first click names", "[actor][rollup]") {
  start();
  ingest({{1, {{1, t0 + 1}}}});
  tick();
  // A click of ad 1 naming campaign 9: counted for the ad and for its first campaign.
  ingest_batch b;
  b.partition = 0;
  fetched_message m;
  m.stream_seq = 2;
  m.publish_ms = now_ms();
  m.click_count = 1;
  b.messages.push_back(m);
  click c;
  c.ad_id = 1;
  c.campaign_id = 9;
  c.advertiser_id = 1;
  c.event_time_ms = t0 + 2;
  c.id[0] = 200;
  b.clicks.push_back(c);
  caf::anon_send(partition, std::move(b));
  sched.run();
  tick();
  CHECK(status().owner_conflicts == 1);
  rollup_value share;
  REQUIRE_FALSE(db->scan_group(entity::campaign, 1, granularity::minute, t0, t0 + minute_ms,
                               [&](std::int64_t, std::uint32_t, const rollup_value& v) { share += v; }));
  CHECK(share.count == 2);
  auto none = db->group_exists(entity::campaign, 9);
  REQUIRE(none);
  CHECK_FALSE(*none);
  restart();  // the owner is stored: still campaign 1
  ingest({{3, {{1, t0 + 3}}}});
  tick();
  share = {};
  REQUIRE_FALSE(db->scan_group(entity::campaign, 1, granularity::minute, t0, t0 + minute_ms,
                               [&](std::int64_t, std::uint32_t, const rollup_value& v) { share += v; }));
  CHECK(share.count == 3);
}

TEST_CASE_METHOD(quick_windows, "an ad finalized after a restart closes its minute in its campaign too",
                 "[actor][rollup]") {
  // Regression: a restarted (or passivated) ad that only receives a finalize did not know
  // its campaign, so its minute's "no longer open" move went to campaign 0 and campaign
  // 1's minute stayed open forever (never billed).
  start();
  ingest({{1, {{1, t0 + 5}}}});
  tick();
  restart();
  ingest({{2, {{2, t0 + 3 * minute_ms}}}});  // moves the watermark past t0: ad 1 is finalized
  tick();
  check_rollups(*this, {1, 2});
  rollup_value share;
  REQUIRE_FALSE(db->scan_group(entity::campaign, 1, granularity::minute, t0, t0 + minute_ms,
                               [&](std::int64_t, std::uint32_t, const rollup_value& v) { share += v; }));
  CHECK(share.count == 1);
  CHECK(share.open_minutes == 0);
}

TEST_CASE_METHOD(fixture, "with live updates off an ad keeps no list of minutes to send", "[actor][live]") {
  // Regression: the list grew with every change of minute when nothing ever sent it.
  start();
  for (std::uint64_t seq = 1; seq <= 20; ++seq)
    ingest({{seq, {{7, t0 + static_cast<std::int64_t>(seq % 2) * minute_ms + 1}, {7, t0 + 2}}}});
  CHECK(inspect(7).active);
  CHECK(inspect(7).live_pending == 0);
}

TEST_CASE_METHOD(quick_windows, "a partition recovers a large open index in steps, answering 'recovering' meanwhile",
                 "[actor][recovery]") {
  // 5000 open buckets: more than one step of recovery (4096).
  constexpr std::uint64_t ads = 5000;
  {
    store::batch b;
    for (std::uint64_t ad = 1; ad <= ads; ++ad) b.put_bucket(0, ad, {t0, 1, bucket_state::open, 0});
    REQUIRE_FALSE(db->write(b));
  }
  start();  // the first step ran; the next waits for the clock
  CHECK_FALSE(status().recovered);
  CHECK_FALSE(cursor->ready.load());
  auto answer = ask(series_query{entity::ad, 1, t0, t0 + minute_ms, granularity::minute, false});
  REQUIRE_FALSE(answer);
  CHECK(answer.error() == make_error(errc::recovering, ""));
  // A message recovery does not handle waits for it instead of being dropped.
  ingest({{1, {{ads + 1, t0 + 3 * minute_ms}}}});
  CHECK(status().undecided == 0);
  sched.advance_time(std::chrono::milliseconds(1));
  sched.run();
  CHECK(status().recovered);
  CHECK(cursor->ready.load());
  tick();
  // The click sent during recovery is counted, and its watermark finalized every bucket
  // of the index, the ones of the last step too.
  CHECK(count_at(query(ads + 1), t0 + 3 * minute_ms) == 1);
  for (std::uint64_t ad : {std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{4097}, ads})
    CHECK(test::must(db->read_minute(ad, t0)).state == bucket_state::final);
}

// -- admin verbs: checkpoint, passivate, inspect, hot ------------------------------------

namespace {
/// Sends `msg...` to the partition, runs the scheduler, and returns the reply or error.
template <class Reply, class... Ts>
caf::expected<Reply> ask_partition(fixture& f, Ts... msg) {
  caf::scoped_actor self{f.sys};
  self->send(f.partition, msg...);
  f.sched.run();
  caf::expected<Reply> out{make_error(errc::timeout, "no reply")};
  self->receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& e) { out = std::move(e); },
                caf::after(std::chrono::seconds(0)) >> [] {});
  return out;
}
}  // namespace

TEST_CASE_METHOD(fixture, "admin checkpoint answers once a checkpoint that covers the request is durable",
                 "[actor][admin]") {
  start();
  ingest({{1, {{10, t0}}}});
  // No tick: the checkpoint is forced by the request, and the reply comes when durable.
  auto r = ask_partition<checkpoint_report>(*this, sync_atom_v);
  REQUIRE(r);
  CHECK(r->wrote);
  CHECK(r->durable_seq == 1);
  CHECK(cursor->durable_seq == 1);
  CHECK(test::must(db->read_minute(10, t0)).count == 1);
  // Nothing new dispatched: answered at once, nothing written.
  auto again = ask_partition<checkpoint_report>(*this, sync_atom_v);
  REQUIRE(again);
  CHECK_FALSE(again->wrote);
  CHECK(again->durable_seq == 1);
}

TEST_CASE_METHOD(fixture, "admin checkpoint reports a failing disk as an error, not as durable", "[actor][admin]") {
  auto failures = std::make_shared<int>(1000);
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest({{1, {{10, t0}}}});
  auto r = ask_partition<checkpoint_report>(*this, sync_atom_v);
  REQUIRE_FALSE(r);
  CHECK(describe(r.error()).find("disk full") != std::string::npos);
  CHECK(cursor->durable_seq == 0);
}

TEST_CASE_METHOD(fixture, "admin passivate stops an ad once its state is durable, and inspect then answers from the store",
                 "[actor][admin][passivation]") {
  start();
  ingest_ids({{1, {{10, t0 + 1, 1}, {10, t0 + 2, 2}, {10, t0 + 3, 2}}}});  // one duplicate
  auto live = inspect(10);
  CHECK(live.active);
  CHECK_FALSE(live.passivated);
  REQUIRE(live.minutes.size() == 1);
  CHECK(live.minutes[0].count == 2);
  CHECK(live.ids_in_memory == 2);
  CHECK(live.ids_on_disk == 0);  // nothing checkpointed yet
  CHECK(live.counted == 2);
  CHECK(live.duplicates == 1);
  CHECK(live.clicks_per_s > 0);
  CHECK(live.idle_ms >= 0);
  CHECK(live.campaign_id == 2);

  auto p = ask_partition<passivate_report>(*this, passivate_atom_v, std::uint64_t{10});
  REQUIRE(p);  // answered without a tick: the request forced the checkpoint
  CHECK(p->was_active);
  CHECK(cursor->durable_seq == 1);
  auto stored = inspect(10);
  CHECK_FALSE(stored.active);
  CHECK(stored.passivated);
  REQUIRE(stored.minutes.size() == 1);
  CHECK(stored.minutes[0].count == 2);
  auto ids = test::must(db->count_ids(10, 100));  // (the gateway counts them for inspect)
  CHECK(ids.ids == 2);
  CHECK(ids.minutes == 1);
  CHECK(ids.complete);
  CHECK(stored.campaign_id == 2);
  CHECK(status().passivated == 1);
  CHECK(count_at(query(10), t0) == 2);

  // Again: nothing to do. An ad that never counted: not found.
  auto twice = ask_partition<passivate_report>(*this, passivate_atom_v, std::uint64_t{10});
  REQUIRE(twice);
  CHECK_FALSE(twice->was_active);
  auto unknown = ask_partition<passivate_report>(*this, passivate_atom_v, std::uint64_t{99});
  REQUIRE_FALSE(unknown);
  CHECK(static_cast<errc>(unknown.error().code()) == errc::not_found);
  auto unknown_inspect = ask_partition<ad_status>(*this, inspect_atom_v, std::uint64_t{99});
  REQUIRE_FALSE(unknown_inspect);

  // A second id chunk of the same minute: counting stops at the limit and says so.
  ingest_ids({{2, {{10, t0 + 4, 3}}}});
  REQUIRE(ask_partition<checkpoint_report>(*this, sync_atom_v));
  auto capped = test::must(db->count_ids(10, 1));
  CHECK(capped.ids == 2);  // whole chunks: the first one
  CHECK_FALSE(capped.complete);
  CHECK(test::must(db->count_ids(10, 100)).ids == 3);
}

TEST_CASE_METHOD(fixture, "admin passivate never stops an ad whose state is not durable", "[actor][admin][passivation]") {
  auto failures = std::make_shared<int>(1000);
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest_ids({{1, {{10, t0 + 1, 1}}}});
  auto p = ask_partition<passivate_report>(*this, passivate_atom_v, std::uint64_t{10});
  REQUIRE_FALSE(p);  // the forced checkpoint failed
  CHECK(inspect(10).active);
  CHECK(count_at(query(10), t0) == 1);
}

TEST_CASE_METHOD(fixture, "admin hot lists the ads with the highest recent click rate, highest first",
                 "[actor][admin]") {
  start();
  std::vector<std::pair<std::uint64_t, std::int64_t>> clicks;
  for (int i = 0; i < 50; ++i) clicks.emplace_back(7, t0 + i);
  for (int i = 0; i < 20; ++i) clicks.emplace_back(8, t0 + i);
  clicks.emplace_back(9, t0);
  ingest({{1, clicks}});
  auto hot = ask_partition<std::vector<hot_ad>>(*this, hot_atom_v, std::uint32_t{2});
  REQUIRE(hot);
  REQUIRE(hot->size() == 2);
  CHECK((*hot)[0].ad_id == 7);
  CHECK((*hot)[1].ad_id == 8);
  CHECK((*hot)[0].clicks_per_s > (*hot)[1].clicks_per_s);
  CHECK((*hot)[0].partition == 0);
  // Mailboxes: everything sent was handled. Two batches the ingress says it sent, not yet
  // handled, show as waiting.
  CHECK(inspect(7).mailbox == 0);
  CHECK(status().mailbox == 0);
  cursor->batches_sent.fetch_add(2);
  CHECK(status().mailbox == 2);
}

TEST_CASE_METHOD(fixture, "inspect counts the click batches queued behind the ad's answer", "[actor][admin]") {
  start();
  ingest_ids({{1, {{7, t0, 1}}}});
  // Queued in the partition's mailbox, in this order: a batch for ad 7, an inspect of it,
  // two more batches. The partition forwards each to the ad in order, so the ad answers
  // having handled the first; when the answer reaches the partition, two more were sent.
  ingest_ids({{2, {{7, t0 + 1, 2}}}}, false);
  caf::scoped_actor self{sys};
  self->send(partition, inspect_atom_v, std::uint64_t{7});
  ingest_ids({{3, {{7, t0 + 2, 3}}}}, false);
  ingest_ids({{4, {{7, t0 + 3, 4}}}}, false);
  for (int i = 0; i < 4; ++i) {  // the partition alone: one message per step
    sched.prioritize(partition);
    sched.run_once();
  }
  sched.run();
  ad_status s;
  self->receive([&](ad_status& r) { s = r; }, [&](caf::error&) {}, caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK(s.ad_id == 7);
  CHECK(s.mailbox == 2);
  CHECK(inspect(7).mailbox == 0);  // all handled now
}

namespace {
/// A writer that holds every checkpoint until it gets a tick_atom, then writes them all:
/// checkpoints stay in flight as long as a test needs.
struct gate_state {
  std::vector<std::pair<checkpoint, caf::typed_response_promise<checkpoint_result>>> held;
};
caf::behavior gated_writer(caf::stateful_actor<gate_state>* self, store* db) {
  return {
    [=](checkpoint& cp) -> caf::result<checkpoint_result> {
      auto rp = self->make_response_promise<checkpoint_result>();
      self->state.held.emplace_back(std::move(cp), rp);
      return rp;
    },
    [=](tick_atom) {
      for (auto& [cp, rp] : self->state.held) {
        auto b = checkpoint_batch(cp);
        if (auto err = db->write(b)) rp.deliver(checkpoint_result{false, describe(err), 0, std::move(cp)});
        else rp.deliver(checkpoint_result{true, {}, 0, {}});
      }
      self->state.held.clear();
    },
  };
}
}  // namespace

TEST_CASE_METHOD(fixture, "an admin checkpoint waiting across a stream rebase never acks the new stream with old positions",
                 "[actor][admin][rebase]") {
  auto writer_handle = sys.spawn(gated_writer, db.get());
  start(writer_handle);
  ingest({{1, {{10, t0}}}, {2, {{10, t0}}}, {3, {{10, t0}}}});
  tick();                          // checkpoint 0 (up to seq 3) is in flight, held
  ingest({{4, {{10, t0 + 1}}}});   // dispatched after its cut
  const std::int64_t new_stream = 1'234'567;
  caf::anon_send(partition, rebase_atom_v, new_stream);  // waits for the write in flight
  caf::scoped_actor op{sys};
  op->send(partition, sync_atom_v);  // an operator's checkpoint, waiting
  sched.run();
  caf::anon_send(writer_handle, tick_atom_v);  // checkpoint 0 durable: the rebase applies now
  sched.run();
  caf::anon_send(writer_handle, tick_atom_v);  // whatever was started next
  sched.run();
  // The positions now count in the new stream, from its start: nothing of it is ackable.
  CHECK(cursor->stream_created_ns == new_stream);
  CHECK(cursor->durable_seq == 0);
  bool answered = false;
  op->receive([&](checkpoint_report&) { answered = true; }, [&](caf::error&) {}, caf::after(std::chrono::seconds(0)) >> [] {});
  CHECK(answered);
}

namespace {
/// Under a steady load: a checkpoint after every message (max-pending 1), each held by the
/// gated writer until released, so that one is in flight nearly all the time.
struct steady_load : fixture {
  caf::actor gate;
  steady_load() {
    max_pending = 1;
    gate = sys.spawn(gated_writer, db.get());
    start(gate);
  }
  /// Releases the held checkpoints while another ad keeps clicking: each release is
  /// followed at once by the next message and its checkpoint.
  void busy_rounds(int rounds, std::uint64_t& seq) {
    for (int i = 0; i < rounds; ++i) {
      caf::anon_send(gate, tick_atom_v);
      ingest({{++seq, {{11, t0 + static_cast<std::int64_t>(seq)}}}});
    }
  }
};
/// Collects the live updates it is sent.
struct hub_state {
  std::vector<live_update> got;
};
// (An argument, because CAF 0.17 spawning a function actor with none trips UBSan.)
caf::behavior stub_hub(caf::stateful_actor<hub_state>* self, int) {
  return {
    [=](live_update& u) { self->state.got.push_back(std::move(u)); },
    [=](live_touches&) {},
    [=](caf::get_atom) { return self->state.got.size(); },
  };
}
}  // namespace

TEST_CASE_METHOD(steady_load, "admin passivate stops an idle ad while checkpoints run back to back",
                 "[actor][admin][passivation]") {
  std::uint64_t seq = 0;
  ingest({{++seq, {{10, t0}}}});  // ad 10's only click
  busy_rounds(3, seq);            // ad 10's flush is durable; ad 11 keeps the checkpoints coming
  caf::scoped_actor op{sys};
  op->send(partition, passivate_atom_v, std::uint64_t{10});
  sched.run();
  busy_rounds(6, seq);
  caf::expected<passivate_report> r{make_error(errc::timeout, "no answer")};
  op->receive([&](passivate_report& p) { r = p; }, [&](caf::error& e) { r = e; },
              caf::after(std::chrono::seconds(0)) >> [] {});
  REQUIRE(r);  // it failed with 409 busy: a checkpoint was always in flight when it looked
  CHECK(r->was_active);
  CHECK_FALSE(inspect(10).active);
  CHECK(inspect(11).active);
}

TEST_CASE_METHOD(steady_load, "idle ads are passivated while checkpoints run back to back", "[actor][passivation]") {
  std::uint64_t seq = 0;
  ingest({{++seq, {{10, t0}}}});
  busy_rounds(3, seq);
  for (int i = 0; i < 12; ++i) {  // 12 s: past the 10 s idle timeout, with a tick a second
    sched.advance_time(std::chrono::seconds(1));
    busy_rounds(2, seq);
  }
  CHECK_FALSE(inspect(10).active);  // it stayed in memory: a checkpoint was in flight at every tick
  CHECK(status().passivated >= 1);
  CHECK(inspect(11).active);
}

TEST_CASE_METHOD(fixture, "an ad passivated by an operator first sends the live update it owes", "[actor][admin][live]") {
  auto hub = sys.spawn(stub_hub, 0);
  live_hub = hub;
  start();
  ingest({{1, {{10, t0}}}});
  auto p = ask_partition<passivate_report>(*this, passivate_atom_v, std::uint64_t{10});
  REQUIRE(p);
  CHECK(p->was_active);
  caf::scoped_actor self{sys};
  self->send(hub, caf::get_atom_v);
  sched.run();
  std::size_t got = 0;
  self->receive([&](std::size_t n) { got = n; });
  CHECK(got == 1);  // before the 250 ms live tick: without it the dashboard keeps the old count
  caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(fixture, "the durable outcome totals never go back, also when a crash takes back undurable ones",
                 "[actor][metrics]") {
  start();
  ingest({{1, {{10, t0}, {10, t0 + 1}}}});
  tick();
  CHECK(status().durable_outcomes[outcome::counted] == 2);
  ingest({{2, {{10, t0 + 2}}}});
  // Flushed into a checkpoint that fails: counted, but not durable.
  stop();
  auto failures = std::make_shared<int>(1000);
  cursor = std::make_shared<ack_cursor>();
  start(sys.spawn(flaky_writer, db.get(), failures, std::make_shared<int>(0)));
  ingest({{2, {{10, t0 + 2}}}});
  tick();
  auto s = status();
  CHECK(s.outcomes[outcome::counted] == 3);
  CHECK(s.durable_outcomes[outcome::counted] == 2);  // what a crash now would keep
  restart();
  CHECK(status().durable_outcomes[outcome::counted] == 2);
}

TEST_CASE_METHOD(fixture, "status is answered ahead of the ingest batches queued before it", "[actor][admin]") {
  // Status, lag, metrics and the queries' watermarks ask every partition (gateway's
  // gather): a partition with seconds of batches in its mailbox (150k clicks/s at steady
  // state) must not make them wait behind those, nor time them out.
  start();
  for (std::uint64_t seq = 1; seq <= 50; ++seq) ingest_ids({{seq, {{10 + seq % 5, t0 + 1, seq}}}}, false);
  caf::scoped_actor self{sys};
  self->send<caf::message_priority::high>(partition, status_atom_v);
  sched.run();
  partition_status first;
  self->receive([&](partition_status& s) { first = s; });
  CHECK(first.messages_dispatched < 50);  // answered before the queue was worked off
  CHECK(status().messages_dispatched == 50);
}

TEST_CASE_METHOD(fixture, "an actor stopped at once does not first work through its mailbox", "[actor][stop]") {
  // At shutdown a partition's queued batches and an ad's queued clicks will never be
  // durable: stop_at_once's exit goes ahead of them (CAF's urgent queue gets its turn
  // first; a few normal messages may still run in the same round).
  auto handled = std::make_shared<int>(0);
  // (An argument, not a capture: CAF 0.17 spawning a function of `self` alone binds a
  // reference to a null tuple of arguments, which UBSan reports.)
  auto counter = sys.spawn(
    [](caf::event_based_actor*, std::shared_ptr<int> n) -> caf::behavior {
      return {[n](std::int64_t) { ++*n; }};
    },
    handled);
  sched.run();
  for (std::int64_t i = 0; i < 200; ++i) caf::anon_send(counter, i);
  stop_at_once(counter);
  sched.run();
  CHECK(*handled < 10);
  // Stopped: what is sent now is not handled.
  const int before = *handled;
  caf::anon_send(counter, std::int64_t{1});
  sched.run();
  CHECK(*handled == before);
}
