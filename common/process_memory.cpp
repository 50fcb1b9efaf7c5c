#include "common/process_memory.hpp"

#include <unistd.h>

#include <cstdio>

namespace adclick {

process_memory read_process_memory() {
  process_memory out;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return out;
  unsigned long long size = 0, resident = 0, shared = 0;  // pages; shared: resident file pages
  if (std::fscanf(f, "%llu %llu %llu", &size, &resident, &shared) == 3) {
    const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    out.rss_bytes = resident * page;
    out.rss_file_bytes = shared * page;
    out.rss_anon_bytes = out.rss_bytes - out.rss_file_bytes;
  }
  std::fclose(f);
  return out;
}

}  // namespace adclick
