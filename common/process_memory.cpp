#include "common/process_memory.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

namespace adclick {

namespace {
std::atomic<std::uint64_t> bulk_frees{0};
std::atomic<std::uint64_t> trims{0};
std::atomic<std::uint64_t> trimmed_bytes{0};
}  // namespace

process_memory read_process_memory() {
  process_memory out;
  out.trims = trims.load(std::memory_order_relaxed);
  out.trimmed_bytes = trimmed_bytes.load(std::memory_order_relaxed);
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

void note_bulk_free(std::uint64_t objects) { bulk_frees.fetch_add(objects, std::memory_order_relaxed); }

trim_report trim_if_due(std::uint64_t min_objects) {
  trim_report out;
  if (bulk_frees.load(std::memory_order_relaxed) < min_objects) return out;
  out.objects = bulk_frees.exchange(0, std::memory_order_relaxed);
  out.rss_before = read_process_memory().rss_bytes;
  const auto t0 = std::chrono::steady_clock::now();
  malloc_trim(0);
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  out.rss_after = read_process_memory().rss_bytes;
  out.trimmed = true;
  trims.fetch_add(1, std::memory_order_relaxed);
  if (out.rss_after < out.rss_before) trimmed_bytes.fetch_add(out.rss_before - out.rss_after, std::memory_order_relaxed);
  return out;
}

std::chrono::seconds next_trim_interval(std::chrono::seconds current, const trim_report& last,
                                        std::chrono::seconds shortest, std::chrono::seconds longest) {
  if (!last.trimmed) return current;
  const auto released = last.rss_before > last.rss_after ? last.rss_before - last.rss_after : 0;
  if (released * 20 >= last.rss_before) return shortest;  // 5% or more
  return std::min(longest, std::max(shortest, current * 2));
}

}  // namespace adclick
