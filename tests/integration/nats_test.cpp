// The NATS wrapper against a real nats-server on a free loopback port.
#include <catch2/catch.hpp>

#include <fstream>

#include "common/errc.hpp"
#include "gateway/nats/nats_client.hpp"
#include "tests/support/test_support.hpp"

using namespace adclick;

namespace {
stream_spec spec_for(std::uint32_t partitions) { return clicks_stream_spec(subjects{}, partitions); }
}  // namespace

TEST_CASE("the stream is created once and a partition mismatch is a clear error", "[nats]") {
  test::nats_server server;
  REQUIRE(server.ready());
  auto nc = nats_connection::connect(server.url(), "test");
  REQUIRE(nc);
  auto created = (*nc)->ensure_stream(spec_for(16));
  REQUIRE(created);
  auto again = (*nc)->ensure_stream(spec_for(16));  // idempotent: the same stream
  REQUIRE(again);
  CHECK(again->created_ns == created->created_ns);
  auto mismatch = (*nc)->ensure_stream(spec_for(8));
  REQUIRE_FALSE(mismatch);
  const auto err = mismatch.error();
  CHECK(err.code() == static_cast<std::uint8_t>(errc::format_mismatch));
  CHECK(describe(err).find("partitions=16") != std::string::npos);
}

TEST_CASE("publish, fetch from a start sequence, and ack", "[nats]") {
  test::nats_server server;
  REQUIRE(server.ready());
  auto nc = nats_connection::connect(server.url(), "test");
  REQUIRE(nc);
  REQUIRE((*nc)->ensure_stream(spec_for(4)));
  for (int i = 0; i < 10; ++i)
    REQUIRE_FALSE((*nc)->publish_async("adclick.clicks." + std::to_string(i % 2), "m" + std::to_string(i),
                                       "id-" + std::to_string(i)));
  // Same Nats-Msg-Id again: JetStream's duplicate window drops it.
  REQUIRE_FALSE((*nc)->publish_async("adclick.clicks.0", "m0", "id-0"));
  REQUIRE_FALSE((*nc)->publish_async_complete(5000));
  CHECK((*nc)->publish_async_failures() == 0);

  consumer_spec cs;
  cs.stream = "ADCLICK_CLICKS";
  cs.durable = "test-p0";
  cs.filter_subject = "adclick.clicks.0";
  cs.start_seq = 4;  // skip stream sequences 1..3
  auto sub = (*nc)->pull_subscribe(cs);
  REQUIRE(sub);
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> data;
  std::string last_reply;
  auto got = (*sub)->fetch(100, 1 << 20, 1000, [&](const pull_subscription::message& m) {
    seqs.push_back(m.stream_seq);
    data.emplace_back(m.data);
    last_reply.assign(m.reply);
  });
  REQUIRE(got);
  // Partition 0 got i = 0,2,4,6,8 at stream sequences 1,3,5,7,9; from 4 on: 5,7,9.
  CHECK(seqs == std::vector<std::uint64_t>{5, 7, 9});
  CHECK(data == std::vector<std::string>{"m4", "m6", "m8"});
  REQUIRE_FALSE((*sub)->ack(last_reply));
  REQUIRE_FALSE((*nc)->flush(2000));

  // AckAll: acking the last acks all three.
  consumer_state st;
  for (int i = 0; i < 50; ++i) {
    auto info = (*nc)->consumer_info("ADCLICK_CLICKS", "test-p0");
    REQUIRE(info);
    st = *info;
    if (st.num_ack_pending == 0) break;
  }
  CHECK(st.num_ack_pending == 0);
  CHECK(st.num_pending == 0);
  CHECK(st.ack_floor_stream_seq == 9);

  // A timeout with nothing to fetch is not an error.
  auto none = (*sub)->fetch(10, 1 << 20, 100, [](const pull_subscription::message&) {});
  REQUIRE(none);
  CHECK(*none == 0);
}

TEST_CASE("a pull subscription dropped while the server is still delivering to it does not crash the client",
          "[nats]") {
  // nats.c 3.4 (Debian 12) looks a message's subscription up, unlocks the table, copies
  // the message, then locks the subscription: one destroyed in between is freed memory
  // (nats.c #637, fixed in 3.6). A fetch that gives up before the server's answer (large
  // messages, 1 ms) and a subscription dropped at once make that window likely; this
  // crashed in most runs of 1000 rounds before pull_subscription waited for the read loop.
  test::nats_server server;
  REQUIRE(server.ready());
  auto nc = nats_connection::connect(server.url(), "test");
  REQUIRE(nc);
  REQUIRE((*nc)->ensure_stream(spec_for(1)));
  const std::string big(256 * 1024, 'x');
  for (int i = 0; i < 64; ++i) REQUIRE_FALSE((*nc)->publish_async("adclick.clicks.0", big, "big-" + std::to_string(i)));
  REQUIRE_FALSE((*nc)->publish_async_complete(10000));
  consumer_spec cs;
  cs.stream = "ADCLICK_CLICKS";
  cs.durable = "test-drop";
  cs.filter_subject = "adclick.clicks.0";
  cs.start_seq = 1;
  std::size_t fetched = 0;
  for (int round = 0; round < 1000; ++round) {
    auto sub = (*nc)->pull_subscribe(cs);
    REQUIRE(sub);
    auto got = (*sub)->fetch(64, 64 << 20, 1, [&](const pull_subscription::message&) { ++fetched; });
    REQUIRE(got);
  }  // each subscription is destroyed here, with the rest of its fetch on the way
  auto sub = (*nc)->pull_subscribe(cs);  // and the client still works
  REQUIRE(sub);
  std::size_t last = 0;
  REQUIRE((*sub)->fetch(1, 1 << 20, 5000, [&](const pull_subscription::message&) { ++last; }));
  CHECK(last == 1);
}

TEST_CASE("connecting to nothing fails with a NATS error", "[nats]") {
  auto nc = nats_connection::connect("nats://127.0.0.1:" + std::to_string(free_loopback_port()), "test");
  REQUIRE_FALSE(nc);
  CHECK(nc.error().code() == static_cast<std::uint8_t>(errc::nats));
}

TEST_CASE("test servers get ports below the kernel's ephemeral range, which outgoing connections never take",
          "[ports]") {
  // A test stops adclickd or nats-server and starts it again on the same port; a port from
  // the ephemeral range could meanwhile be the local end of any outgoing connection (CI saw
  // adclickd fail to bind its HTTP port after a restart).
  std::ifstream in{"/proc/sys/net/ipv4/ip_local_port_range"};
  int low = 0;
  REQUIRE(in >> low);
  REQUIRE(low > 11'000);
  for (int i = 0; i < 50; ++i) {
    const int port = free_loopback_port();
    CHECK(port >= 10'000);
    CHECK(port < low);
  }
}

TEST_CASE("a fetch returns at most its batch while deliveries for earlier fetches are still arriving", "[nats]") {
  // nats.c 3.4 (Debian 12) sizes a fetch's list by the batch, takes what an earlier fetch
  // left in the subscription first, then shrinks the batch it waits for by that number and
  // compares the count against the shrunk one: with more than half a batch left over, it
  // writes past the list for as long as messages keep coming (nats.c #749, fixed in 3.10).
  // CI saw adclickd die of "double free or corruption" in a catch-up with fetch-batch=16.
  // Fetches that give up after 1 ms leave most of their batch on the way.
  test::nats_server server;
  REQUIRE(server.ready());
  auto nc = nats_connection::connect(server.url(), "test");
  REQUIRE(nc);
  REQUIRE((*nc)->ensure_stream(spec_for(1)));
  for (int i = 0; i < 20000; ++i)
    REQUIRE_FALSE((*nc)->publish_async("adclick.clicks.0", "m" + std::to_string(i), "id-" + std::to_string(i)));
  REQUIRE_FALSE((*nc)->publish_async_complete(20000));
  consumer_spec cs;
  cs.stream = "ADCLICK_CLICKS";
  cs.durable = "test-late";
  cs.filter_subject = "adclick.clicks.0";
  cs.start_seq = 1;
  auto sub = (*nc)->pull_subscribe(cs);
  REQUIRE(sub);
  constexpr int batch = 16;
  std::size_t most = 0, total = 0;
  std::string last_reply;
  for (int round = 0; round < 400 && total < 19000; ++round) {
    const std::int64_t timeout_ms = round % 2 == 0 ? 1 : 200;
    std::size_t n = 0;
    auto got = (*sub)->fetch(batch, 1 << 20, timeout_ms, [&](const pull_subscription::message& m) {
      ++n;
      last_reply.assign(m.reply);
    });
    REQUIRE(got);
    most = std::max(most, n);
    total += n;
    if (!last_reply.empty()) REQUIRE_FALSE((*sub)->ack(last_reply));
  }
  CHECK(total > 0);
  CHECK(most <= static_cast<std::size_t>(batch));
}

TEST_CASE("an ack subject gives a delivery's sequences, in both of JetStream's forms", "[nats]") {
  auto v1 = parse_ack_subject("$JS.ACK.ADCLICK_CLICKS.adclick-p10.1.553.35.1795985461765480198.214");
  REQUIRE(v1);
  CHECK(v1->delivered == 1);
  CHECK(v1->stream_seq == 553);
  CHECK(v1->consumer_seq == 35);
  CHECK(v1->timestamp_ns == 1795985461765480198);
  CHECK(v1->num_pending == 214);
  // With a domain and an account hash first, and a random token last.
  auto v2 = parse_ack_subject("$JS.ACK.hub.ACCHASH.ADCLICK_CLICKS.adclick-p10.2.554.36.1795985461765480199.0.xyz");
  REQUIRE(v2);
  CHECK(v2->delivered == 2);
  CHECK(v2->stream_seq == 554);
  CHECK(v2->consumer_seq == 36);
  CHECK(v2->num_pending == 0);
  CHECK_FALSE(parse_ack_subject("_INBOX.abc.1"));
  CHECK_FALSE(parse_ack_subject("$JS.ACK.S.C.1.2.3.4"));            // a token short
  CHECK_FALSE(parse_ack_subject("$JS.ACK.S.C.1.2.x.4.5"));          // not a number
  CHECK_FALSE(parse_ack_subject("$JS.ACK.S.C.1.2..4.5"));           // empty
  CHECK_FALSE(parse_ack_subject("$JS.ACK.S.C.1.2.3.4.5.6.7.8.9.10.11"));  // too many
  CHECK_FALSE(parse_ack_subject("$JS.ACK.S.C.1.18446744073709551616.3.4.5"));  // past 2^64 - 1
  CHECK_FALSE(parse_ack_subject("$JS.ACK.S.C.1.2.3.9223372036854775808.5"));   // a time past int64
  CHECK(parse_ack_subject("$JS.ACK.S.C.1.18446744073709551615.3.4.5")->stream_seq == UINT64_MAX);
}
