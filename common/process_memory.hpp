// What the process holds in memory, by the kernel's count and the allocator's: tells the
// heap in use from what glibc keeps after it is freed, and both from the rest (thread
// stacks, LevelDB's mapped files). For status (`memory`) and the steady benchmark.
#pragma once

#include <cstdint>

namespace adclick {

struct process_memory {
  std::uint64_t rss_bytes = 0;          ///< resident (/proc/self/statm)
  std::uint64_t heap_in_use_bytes = 0;  ///< allocated and not freed (mallinfo2: uordblks + hblkhd)
  std::uint64_t heap_held_bytes = 0;    ///< taken from the system by the allocator (arena + hblkhd)
};

process_memory read_process_memory();

}  // namespace adclick
