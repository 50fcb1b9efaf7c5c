#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "actors/core/id_filter.hpp"

using namespace adclick;

namespace {
click_id id_of(std::uint64_t a, std::uint64_t b) {
  click_id id{};
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<std::uint8_t>(a >> (8 * i));
    id[8 + i] = static_cast<std::uint8_t>(b >> (8 * i));
  }
  return id;
}

/// The share of `probes` ids never added that the filter says it may contain.
template <class Next>
double false_positive_rate(const id_filter& f, int probes, Next next) {
  int hits = 0;
  for (int i = 0; i < probes; ++i) hits += f.may_contain(next()) ? 1 : 0;
  return static_cast<double>(hits) / probes;
}
}  // namespace

TEST_CASE("id_filter never forgets an id, and rarely claims one it never saw", "[dedup][filter]") {
  std::mt19937_64 rng{11};
  for (std::size_t expected : {0, 1, 100, 10000, 20000}) {
    id_filter f{expected};
    CHECK_FALSE(f.may_contain(id_of(1, 2)));  // empty
    std::vector<click_id> in;
    for (int i = 0; i < 20000; ++i) in.push_back(id_of(rng(), rng()));
    for (const auto& id : in) f.add(id);
    for (const auto& id : in) REQUIRE(f.may_contain(id));
    CHECK(f.size() == in.size());
    const double fp = false_positive_rate(f, 100000, [&] { return id_of(rng(), rng()); });
    INFO("expected " << expected << ": " << f.stages() << " stages, " << fp * 100 << "% false positives, "
                     << static_cast<double>(f.memory_bytes()) / in.size() << " bytes per id");
    // One stage sized right: about 0.5%. Grown from a poor estimate: a few stages, under
    // twice that, in at most about twice the bytes of a right-sized one.
    CHECK(fp < (f.stages() == 1 ? 0.008 : 0.012));
    CHECK(f.memory_bytes() < in.size() * (f.stages() == 1 ? 2 : 4));
    if (expected == in.size()) {
      CHECK(f.stages() == 1);
      CHECK(f.memory_bytes() <= in.size() * 1.6);  // 12 bits per id and a block's rounding
    }
  }
}

TEST_CASE("a one-stage id_filter allocates only its blocks", "[dedup][filter]") {
  // Most minutes' filters are one stage: it lives inline, only a second stage allocates
  // the list of the others.
  id_filter f{100};
  CHECK(f.memory_bytes() == 0);
  std::mt19937_64 rng{3};
  for (int i = 0; i < 100; ++i) f.add(id_of(rng(), rng()));
  REQUIRE(f.stages() == 1);
  const auto blocks = (100 * id_filter::bits_per_id + 255) / 256;
  CHECK(f.memory_bytes() == blocks * 32);
  for (int i = 0; i < 1000; ++i) f.add(id_of(rng(), rng()));
  CHECK(f.stages() > 1);
  CHECK(f.memory_bytes() > blocks * 32);
}

TEST_CASE("id_filter hashes ids in full: sequenced ids (a minter and a counter) are spread too", "[dedup][filter]") {
  id_filter f{50000};
  const std::uint64_t minter = 0x1234;
  for (std::uint64_t seq = 0; seq < 50000; ++seq) f.add(id_of(minter, seq));
  for (std::uint64_t seq = 0; seq < 50000; ++seq) REQUIRE(f.may_contain(id_of(minter, seq)));
  std::uint64_t next = 50000;
  CHECK(false_positive_rate(f, 100000, [&] { return id_of(minter, next++); }) < 0.008);
  std::uint64_t other = 0;
  CHECK(false_positive_rate(f, 100000, [&] { return id_of(minter + 1, other++); }) < 0.008);
}

TEST_CASE("id_filter's stored bytes read back to the same answers, and anything else is refused",
          "[dedup][filter]") {
  std::mt19937_64 rng{3};
  id_filter f{10};
  std::vector<click_id> in;
  for (int i = 0; i < 1000; ++i) {
    in.push_back(id_of(rng(), rng()));
    f.add(in.back());
  }
  REQUIRE(f.stages() > 1);
  auto back = id_filter::parse(f.serialize());
  REQUIRE(back);
  CHECK(back->size() == f.size());
  CHECK(back->stages() == f.stages());
  for (const auto& id : in) CHECK(back->may_contain(id));
  for (int i = 0; i < 10000; ++i) {
    const auto probe = id_of(rng(), rng());
    REQUIRE(back->may_contain(probe) == f.may_contain(probe));
  }
  back->add(id_of(5, 5));  // and it keeps growing
  CHECK(back->may_contain(id_of(5, 5)));

  const auto bytes = f.serialize();
  CHECK_FALSE(id_filter::parse(""));
  CHECK_FALSE(id_filter::parse(std::string(1, '\7') + bytes.substr(1)));  // a format-4 filter
  CHECK_FALSE(id_filter::parse(bytes.substr(0, bytes.size() - 1)));       // cut short
  CHECK_FALSE(id_filter::parse(bytes + "x"));                             // trailing bytes
}

TEST_CASE("an id_filter that absorbs another holds the ids of both, and keeps taking ids", "[dedup][filter]") {
  id_filter mine{100}, stored{1000};
  for (std::uint64_t i = 0; i < 50; ++i) mine.add(id_of(1, i));
  for (std::uint64_t i = 0; i < 1000; ++i) stored.add(id_of(2, i));
  mine.absorb(std::move(stored));
  CHECK(mine.size() == 1050);
  for (std::uint64_t i = 0; i < 1000; ++i) mine.add(id_of(3, i));  // past every stage's room
  for (std::uint64_t i = 0; i < 50; ++i) REQUIRE(mine.may_contain(id_of(1, i)));
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(mine.may_contain(id_of(2, i)));
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(mine.may_contain(id_of(3, i)));
  auto back = id_filter::parse(mine.serialize());
  REQUIRE(back);
  CHECK(back->size() == 2050);
  id_filter empty;
  empty.absorb(std::move(mine));
  CHECK(empty.size() == 2050);
  CHECK(empty.may_contain(id_of(2, 7)));
}

TEST_CASE("filters of several stages each, absorbed and stored, forget no id", "[dedup][filter]") {
  // Every stage of both sides must survive absorb() and the stored bytes, not only the
  // inline first one (a lost list of further stages would answer "no" for their ids).
  id_filter a{0}, b{0};  // no estimate: each grows several stages
  for (std::uint64_t i = 0; i < 3000; ++i) a.add(id_of(4, i));
  for (std::uint64_t i = 0; i < 3000; ++i) b.add(id_of(5, i));
  REQUIRE(a.stages() > 2);
  REQUIRE(b.stages() > 2);
  const auto stages = a.stages() + b.stages();
  a.absorb(std::move(b));
  CHECK(a.stages() == stages);
  CHECK(b.stages() == 0);
  auto check_all = [](const id_filter& f) {
    for (std::uint64_t i = 0; i < 3000; ++i) REQUIRE(f.may_contain(id_of(4, i)));
    for (std::uint64_t i = 0; i < 3000; ++i) REQUIRE(f.may_contain(id_of(5, i)));
  };
  check_all(a);
  auto back = id_filter::parse(a.serialize());
  REQUIRE(back);
  CHECK(back->stages() == stages);
  check_all(*back);
  id_filter none;
  none.absorb(id_filter{});  // absorbing nothing changes nothing
  CHECK(none.stages() == 0);
  a.absorb(std::move(none));
  CHECK(a.stages() == stages);
  check_all(a);
}

TEST_CASE("a stored filter of no stage reads back empty, and takes ids", "[dedup][filter]") {
  auto f = id_filter::parse(id_filter{}.serialize());
  REQUIRE(f);
  CHECK(f->size() == 0);
  CHECK(f->stages() == 0);
  CHECK_FALSE(f->may_contain(id_of(6, 1)));
  for (std::uint64_t i = 0; i < 100; ++i) f->add(id_of(6, i));
  for (std::uint64_t i = 0; i < 100; ++i) REQUIRE(f->may_contain(id_of(6, i)));
  CHECK(f->size() == 100);
}
