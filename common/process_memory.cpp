#include "common/process_memory.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>

namespace adclick {

process_memory read_process_memory() {
  process_memory out;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long long size = 0, resident = 0;
    if (std::fscanf(f, "%llu %llu", &size, &resident) == 2)
      out.rss_bytes = resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    std::fclose(f);
  }
  const auto m = mallinfo2();  // (walks every arena: a status request's cost, not a hot path's)
  out.heap_in_use_bytes = m.uordblks + m.hblkhd;
  out.heap_held_bytes = m.arena + m.hblkhd;
  return out;
}

}  // namespace adclick
