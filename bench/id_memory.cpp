// Measures the memory of the recent-id set: bytes per click id held in memory, for an ad
// with a given number of ids per minute (the hot horizon keeps several minutes). Prints
// one JSON object. Run by scripts/bench.sh; pure computation, no I/O.
#include <cstdio>
#include <cstring>
#include <random>

#include "actors/core/recent_ids.hpp"

int main() {
  using namespace adclick;
  std::mt19937_64 rng{1};
  std::printf("{");
  const char* sep = "";
  for (std::size_t per_minute : {10, 100, 1000, 10000, 100000}) {
    recent_ids r;
    const int minutes = 12;  // about the default hot horizon (allowed lateness + margin)
    for (int m = 0; m < minutes; ++m) {
      for (std::size_t i = 0; i < per_minute; ++i) {
        click_id id;
        std::uint64_t a = rng(), b = rng();
        std::memcpy(id.data(), &a, 8);
        std::memcpy(id.data() + 8, &b, 8);
        r.insert(m * 60'000, id);
      }
    }
    r.take_changes();  // as after a checkpoint: only the set remains
    std::printf("%s\"ids_per_minute_%zu\":%.1f", sep, per_minute,
                static_cast<double>(r.memory_bytes()) / static_cast<double>(r.ids_in_memory()));
    sep = ",";
  }
  std::printf("}\n");
}
