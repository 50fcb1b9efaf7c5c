// The outbox publisher against a real nats-server and a real store.
#include <catch2/catch.hpp>

#include <thread>

#include "common/time.hpp"
#include "gateway/nats/nats_client.hpp"
#include "gateway/nats/outbox_publisher.hpp"
#include "messages/subjects.hpp"
#include "persistence/store.hpp"
#include "tests/support/test_support.hpp"

using namespace adclick;
using namespace std::chrono_literals;

namespace {

struct rig {
  test::nats_server nats;
  test::temp_dir dir;
  std::unique_ptr<nats_connection> nc;
  std::unique_ptr<store> db;
  std::uint64_t next_seq = 0;

  /// Both streams, with a one-second duplicate window: a republish a second later is
  /// stored again, so a test sees every copy.
  rig() {
    REQUIRE(nats.ready());
    nc = test::must(nats_connection::connect(nats.url(), "test"));
    for (auto spec : {finals_stream_spec(subjects{}), dlq_stream_spec(subjects{})}) {
      spec.duplicate_window_ms = 1000;
      REQUIRE(nc->ensure_stream(spec));
    }
    store::options o;
    db = test::must(store::open(dir.str("db"), o));
  }

  void row(const std::string& subject, const std::string& id, std::int64_t created_ms = now_ms()) {
    outbox_message m;
    m.type = subject == "adclick.dlq" ? outbox_message::kind::dlq : outbox_message::kind::final_count;
    m.seq = next_seq++;
    m.created_ms = created_ms;
    m.subject = subject;
    m.msg_id = id;
    m.payload = "payload of " + id;
    store::batch b;
    b.put_outbox(0, m);
    REQUIRE_FALSE(db->write(b));
  }

  std::vector<std::string> ids_in(const char* stream) {
    auto ids = test::must(published_msg_ids(*nc, stream, 1));
    return {ids.begin(), ids.end()};
  }
  std::uint64_t messages_in(const char* stream) { return test::must(nc->stream_info(stream)).messages; }
  std::size_t rows_left() {
    std::vector<outbox_message> rows;
    REQUIRE_FALSE(db->scan_outbox(0, 0, 1000, rows));
    return rows.size();
  }
};

template <class Pred>
bool eventually(Pred pred, std::chrono::seconds timeout = 10s) {
  for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("rows are published once each and removed once acknowledged", "[outbox]") {
  rig r;
  r.row("adclick.final.1", "1:60000:1");
  r.row("adclick.dlq", "s:7:0");
  outbox_publisher pub{*r.nc, *r.db, {0}, subjects{}};
  pub.start();
  pub.poke();
  REQUIRE(eventually([&] { return r.rows_left() == 0; }));
  std::this_thread::sleep_for(1500ms);  // past the duplicate window: nothing comes again
  CHECK(r.messages_in(subjects::final_stream) == 1);
  CHECK(r.messages_in(subjects::dlq_stream) == 1);
  CHECK(pub.stats().published == 2);
}

TEST_CASE("a row that keeps failing does not make the acknowledged ones publish again", "[outbox]") {
  // The whole batch used to be published again while one row failed; past the stream's
  // duplicate window, the rows already stored were stored again.
  rig r;
  r.row("adclick.final.1", "1:60000:1");
  r.row("adclick.nowhere", "lost");  // no stream takes it: refused every time
  r.row("adclick.final.3", "3:60000:1");
  outbox_publisher pub{*r.nc, *r.db, {0}, subjects{}};
  pub.start();
  pub.poke();
  REQUIRE(eventually([&] { return r.rows_left() == 1; }));
  std::this_thread::sleep_for(4s);  // several retries, each past the duplicate window
  CHECK(r.messages_in(subjects::final_stream) == 2);
  CHECK(r.rows_left() == 1);
  CHECK(pub.stats().failures > 0);
}

TEST_CASE("at start, rows whose message the stream already has are removed, not published", "[outbox]") {
  rig r;
  {
    auto p = test::must(r.nc->make_publisher());
    REQUIRE_FALSE(p->publish("adclick.final.1", "x", "1:60000:1"));
    REQUIRE_FALSE(p->publish("adclick.final.2", "y", "2:60000:1"));
    REQUIRE(test::must(p->settle(5000)) == 0);
  }
  std::this_thread::sleep_for(1500ms);  // past the duplicate window
  r.row("adclick.final.1", "1:60000:1");  // published before a crash, never removed
  r.row("adclick.final.2", "2:60000:1");
  r.row("adclick.final.3", "3:60000:1");  // never published
  outbox_publisher pub{*r.nc, *r.db, {0}, subjects{}};
  pub.start();
  REQUIRE(eventually([&] { return r.rows_left() == 0; }));
  CHECK(r.messages_in(subjects::final_stream) == 3);
  CHECK(pub.stats().skipped == 2);
  CHECK(pub.stats().published == 1);
}

TEST_CASE("the start-up check finishes when a stream got nothing since the oldest row", "[outbox]") {
  // It used to wait for the stream's last sequence, which a consumer starting after it
  // never delivers: the check failed, forever, and nothing was published again.
  rig r;
  {
    auto p = test::must(r.nc->make_publisher());
    REQUIRE_FALSE(p->publish("adclick.dlq", "old", "s:1:0"));
    REQUIRE(test::must(p->settle(5000)) == 0);
  }
  r.row("adclick.dlq", "s:2:0", now_ms() + 11 * 60'000);  // written (by its clock) after the margin
  outbox_publisher pub{*r.nc, *r.db, {0}, subjects{}};
  pub.start();
  REQUIRE(eventually([&] { return r.rows_left() == 0; }));
  CHECK(pub.stats().scanned);
  CHECK(r.messages_in(subjects::dlq_stream) == 2);
}

TEST_CASE("rows written after failed checkpoints are checked against the stream before they are published",
          "[outbox]") {
  // A checkpoint that failed may have reached LevelDB's log anyway: its rows then appear
  // at the reopen and are published; the retry writes the same messages again under other
  // seqs, possibly long after the stream's duplicate window.
  rig r;
  const auto failing_since = now_ms() - 60'000;
  {
    auto p = test::must(r.nc->make_publisher());
    REQUIRE_FALSE(p->publish("adclick.final.1", "x", "1:60000:1"));  // from the write that "failed"
    REQUIRE(test::must(p->settle(5000)) == 0);
  }
  std::this_thread::sleep_for(1500ms);  // past the duplicate window
  outbox_publisher pub{*r.nc, *r.db, {0}, subjects{}};
  pub.start();
  REQUIRE(eventually([&] { return pub.stats().scanned; }));
  // The retry's rows, written after the publisher's start-up check.
  for (const auto& [subject, id] : std::vector<std::pair<std::string, std::string>>{
         {"adclick.final.1", "1:60000:1"}, {"adclick.final.2", "2:60000:1"}}) {
    outbox_message m;
    m.seq = r.next_seq++;
    m.created_ms = now_ms();
    m.check_since_ms = failing_since;
    m.subject = subject;
    m.msg_id = id;
    m.payload = "p";
    store::batch b;
    b.put_outbox(0, m);
    REQUIRE_FALSE(r.db->write(b));
  }
  pub.poke();
  REQUIRE(eventually([&] { return r.rows_left() == 0; }));
  CHECK(r.messages_in(subjects::final_stream) == 2);  // 1:60000:1 once, 2:60000:1 once
  CHECK(pub.stats().skipped == 1);
}
