// What the process holds in memory, as the kernel counts it: resident pages, split into
// anonymous ones (the heap, stacks) and file pages mapped into the process. Cheap (one
// small read of /proc/self/statm), for status (`memory`) and the steady benchmark. (The
// allocator's own count, mallinfo2, walks and locks every arena: not for a status request
// on a busy service.)
#pragma once

#include <cstdint>

namespace adclick {

struct process_memory {
  std::uint64_t rss_bytes = 0;       ///< resident
  std::uint64_t rss_anon_bytes = 0;  ///< resident and not backed by a file: heap, stacks
  std::uint64_t rss_file_bytes = 0;  ///< resident pages of mapped files (and shared memory)
};

process_memory read_process_memory();

}  // namespace adclick
