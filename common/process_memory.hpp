// What the process holds in memory, as the kernel counts it: resident pages, split into
// anonymous ones (the heap, stacks) and file pages mapped into the process. Cheap (one
// small read of /proc/self/statm), for status (`memory`) and the steady benchmark. (The
// allocator's own count, mallinfo2, walks and locks every arena: not for a status request
// on a busy service.)
//
// And handing free heap back to the kernel. glibc's free() returns only the top of an
// arena; the pages of ad actors passivated by the thousand, scattered among live ones, stay
// resident (measured 2026-11-30, 100k ads settled: 527 MiB resident, 474 MiB after one
// malloc_trim). The partitions count what they free in bulk (note_bulk_free); the service
// trims now and then when enough was (trim_if_due), less often while trims give back
// little (next_trim_interval). A trim is not free: it locks each arena in turn while it
// walks it, so a counting thread that needs that arena meanwhile waits (the service logs a
// trim that took over 100 ms as a warning).
#pragma once

#include <chrono>
#include <cstdint>

namespace adclick {

struct process_memory {
  std::uint64_t rss_bytes = 0;       ///< resident
  std::uint64_t rss_anon_bytes = 0;  ///< resident and not backed by a file: heap, stacks
  std::uint64_t rss_file_bytes = 0;  ///< resident pages of mapped files (and shared memory)
  std::uint64_t trims = 0;           ///< free heap handed back to the kernel, times (since start)
  std::uint64_t trimmed_bytes = 0;   ///< resident bytes those trims released (RSS before minus after:
                                     ///< an estimate, other threads allocate meanwhile)
};

process_memory read_process_memory();

/// Counts objects freed in bulk (ad actors passivated): the sign that the heap holds free
/// pages worth handing back. One relaxed atomic add; any thread.
void note_bulk_free(std::uint64_t objects);

struct trim_report {
  bool trimmed = false;
  std::uint64_t objects = 0;  ///< freed in bulk since the last trim
  std::uint64_t rss_before = 0;
  std::uint64_t rss_after = 0;
  double ms = 0;  ///< how long the trim took
};
/// If at least `min_objects` were freed in bulk since the last trim: hands the heap's free
/// pages back to the kernel (malloc_trim(0), which walks and locks every arena in turn:
/// tens of milliseconds with gigabytes of heap, so call it every few seconds at most, from
/// a thread that does no counting).
trim_report trim_if_due(std::uint64_t min_objects);

/// How long to wait before the next trim_if_due, after one that ran: a trim that gave back
/// under 5% of the resident set doubles the wait, up to `longest`; one that gave back more
/// starts again from `shortest`. When ads stop and start at the same rate (bench ads-hour,
/// 2026-11-30: 20k stops per 10 s at 3.2 GB) a trim gave back about 3% and held the heap's
/// locks for 150 to 650 ms: not worth doing every 10 s. After a burst of stops it gives
/// back far more.
std::chrono::seconds next_trim_interval(std::chrono::seconds current, const trim_report& last,
                                        std::chrono::seconds shortest, std::chrono::seconds longest);

}  // namespace adclick
