// idle_order against a plain model: a vector of (last activity, id) kept sorted, on a
// random stream of touches, idle insertions and erasures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "actors/core/idle_order.hpp"

using namespace adclick;

namespace {
struct entry : idle_hook {
  int id = 0;
};

std::vector<int> walk(const idle_order& order) {
  std::vector<int> out;
  for (const idle_hook* h = order.front(); h != nullptr; h = idle_order::next(*h))
    out.push_back(static_cast<const entry*>(h)->id);
  return out;
}
}  // namespace

TEST_CASE("idle_order keeps entries from the longest idle to the most recently active", "[unit][idle]") {
  idle_order order;
  entry a, b, c;
  a.id = 1, b.id = 2, c.id = 3;
  order.touch(a);
  order.touch(b);
  order.touch(c);
  CHECK(walk(order) == std::vector<int>{1, 2, 3});
  order.touch(a);  // active again: to the back
  CHECK(walk(order) == std::vector<int>{2, 3, 1});
  order.erase(c);
  CHECK(walk(order) == std::vector<int>{2, 1});
  CHECK_FALSE(c.linked());
  order.erase(c);  // not linked: nothing
  CHECK(order.size() == 2);
  order.push_front(c);  // idle already: first to go
  CHECK(walk(order) == std::vector<int>{3, 2, 1});
  order.push_front(a);  // linked already: stays where it is
  CHECK(walk(order) == std::vector<int>{3, 2, 1});
  order.erase(a), order.erase(b), order.erase(c);
  CHECK(order.front() == nullptr);
  CHECK(order.size() == 0);
}

TEST_CASE("idle_order matches a sorted model on a random stream", "[unit][idle]") {
  std::mt19937_64 rng{7};
  std::map<int, std::unique_ptr<entry>> entries;  // node-based: entries never move
  std::vector<int> model;                          // from the longest idle
  idle_order order;
  for (int step = 0; step < 200'000; ++step) {
    const int id = static_cast<int>(rng() % 500);
    const auto op = rng() % 10;
    auto it = entries.find(id);
    auto drop = [&] { model.erase(std::find(model.begin(), model.end(), id)); };
    if (op < 6) {  // touch (a click): created linked at the back, or moved there
      if (it == entries.end()) it = entries.emplace(id, std::make_unique<entry>()).first, it->second->id = id;
      else drop();
      order.touch(*it->second);
      model.push_back(id);
    } else if (op < 8) {  // spawned idle (a finalize): to the front if new
      if (it != entries.end()) continue;
      it = entries.emplace(id, std::make_unique<entry>()).first;
      it->second->id = id;
      order.push_front(*it->second);
      model.insert(model.begin(), id);
    } else {  // passivated
      if (it == entries.end()) continue;
      order.erase(*it->second);
      entries.erase(it);
      drop();
    }
    if (step % 997 == 0) REQUIRE(walk(order) == model);
  }
  CHECK(walk(order) == model);
  CHECK(order.size() == model.size());
}
