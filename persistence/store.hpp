// The durable state of adclick: counts, stream positions and metadata in one LevelDB
// database. The only code in the project that includes LevelDB (see store.cpp).
//
// Thread safety: a store may be used from many threads at once (LevelDB serialises writes
// and allows concurrent reads). Ownership: open() hands the caller the only handle; the
// database and its directory lock are released when it is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "messages/types.hpp"
#include "persistence/key_codec.hpp"

namespace adclick {

class store {
 public:
  struct options {
    std::uint32_t partitions = 16;  ///< must match what the directory was created with
    bool sync = true;               ///< fsync each checkpoint write
  };

  /// Opens (creating if missing) the database in `dir`. Fails with errc::storage_locked
  /// if another process has it open, errc::format_mismatch if it was written by another
  /// format version or partition count.
  static caf::expected<std::unique_ptr<store>> open(const std::string& dir, const options& opts);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Writes one checkpoint atomically: every bucket and id chunk in `cp.ads` and the
  /// partition's position (stream sequence and outcome counters). Either all of it is
  /// durable or none.
  caf::error write(const checkpoint& cp);

  /// The last checkpointed position of `partition` (all zero if it never checkpointed).
  caf::expected<keys::position> read_position(std::uint32_t partition);

  /// One minute bucket; count 0 and open if absent.
  caf::expected<minute_count> read_minute(std::uint64_t ad_id, std::int64_t minute_ms);

  /// Calls `visit(minute, ad)` for every bucket of `partition` that is stored open.
  caf::error scan_open(std::uint32_t partition,
                       const std::function<void(std::int64_t minute_ms, std::uint64_t ad_id)>& visit);

  /// Appends every stored click id of (ad, minute) to `out` (one range scan over its chunks).
  caf::error read_ids(std::uint64_t ad_id, std::int64_t minute_ms, std::vector<click_id>& out);

  /// The stored Bloom filter of (ad, minute)'s ids; empty if there is none.
  caf::expected<std::string> read_filter(std::uint64_t ad_id, std::int64_t minute_ms);

  /// How many times read_ids ran since open (a late click's disk cost, for tests and stats).
  std::uint64_t id_reads() const;

  /// Appends the stored minute buckets of `ad_id` with start in [from_ms, to_ms), in order.
  caf::error scan_minutes(std::uint64_t ad_id, std::int64_t from_ms, std::int64_t to_ms,
                          std::vector<series_point>& out);

 private:
  struct impl;
  explicit store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
