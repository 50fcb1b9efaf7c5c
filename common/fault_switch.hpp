// Named faults that a test switches on inside a running process, at the few places where
// production code can fail for reasons outside it (a full or failing disk, a publish that
// never leaves). LevelDB's fault_injection_test is the model: the fault is injected below
// the code under test, which then has to cope as it would with the real thing.
//
// Off unless armed: a component holds an optional fault_switch and asks active(name) where
// a fault may strike. Tests in the same process arm() faults; tests of a separate process
// (adclickd, `testing.fault-file`) list the active faults in a file, one name per line,
// re-read at most every 50 ms.
//
// Fault names: storage-full (writes fail: no space), storage-sync-fail (fsync fails),
// storage-torn-append (the next write is half written, then fails), storage-slow-append
// (a log write takes 200 ms), storage-hang (fsync blocks while listed), storage-scan-stall
// (a step of the recovery scan makes no progress while listed: a disk too slow to recover
// from), storage-read-hang (a query's read of the store, the top-K's snapshot, blocks
// while listed), outbox-hold (nothing is published), outbox-keep (published but not removed from
// the outbox).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace adclick {

class fault_switch {
 public:
  /// `file`: where a separate process lists active faults (empty: arm() only).
  explicit fault_switch(std::string file = {});

  /// True if `name` is active now. A fault armed for a number of times is used up by
  /// each call that returns true.
  bool active(std::string_view name);

  /// Activates `name` for the next `times` checks (-1: until disarmed).
  void arm(const std::string& name, int times = -1);
  void disarm(const std::string& name);

 private:
  void refresh(std::chrono::steady_clock::time_point now);

  std::mutex mutex_;
  std::string file_;
  std::chrono::steady_clock::time_point next_read_{};
  std::set<std::string, std::less<>> listed_;  ///< from the file
  std::map<std::string, int, std::less<>> armed_;
};

}  // namespace adclick
