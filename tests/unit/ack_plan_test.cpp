#include <catch2/catch.hpp>

#include <deque>

#include "gateway/nats/nats_ingress.hpp"

using namespace adclick;

namespace {
ack_plan plan(const std::deque<std::uint64_t>& seqs, std::uint64_t durable) {
  return plan_ack(seqs, durable, [](std::uint64_t s) { return s; });
}
}  // namespace

TEST_CASE("the ack goes to the highest stream sequence of the durable prefix", "[ingress][ack]") {
  // In order: the last durable delivery is also the highest.
  auto p = plan({3, 5, 8, 12}, 8);
  CHECK(p.prefix == 3);
  CHECK(p.index == 2);
  // After a redelivery (3 delivered again, last): acking 3 would leave 5 and 7 pending
  // until AckWait; the highest of the prefix, 7, covers them all.
  p = plan({5, 7, 3, 9}, 7);
  CHECK(p.prefix == 3);
  CHECK(p.index == 1);
  // Nothing durable yet, or the first delivery is not: nothing to ack.
  CHECK(plan({5, 7}, 4).prefix == 0);
  CHECK(plan({9, 3}, 8).prefix == 0);  // 3 is durable but behind a delivery that is not
  CHECK(plan({}, 100).prefix == 0);
}
