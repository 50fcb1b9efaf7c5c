// The sequenced click ids of one ad, per minute, as runs of consecutive sequences: the
// exact and compact path of the recent-id set (DESIGN 4.2, README "Click ids").
//
// The recommended layout: the first 8 bytes name the minter (an ad server, its boot and
// the ad: ids stay unique across ads), the last 8 are the minter's big-endian count of its
// clicks, below 2^32 (a minter that would pass it takes a new boot). Such an id is sequenced by its bytes alone, so one id
// always takes the same path; a random id is sequenced by chance once in 2^32, which costs
// it a run of its own, never exactness, and a UUIDv4 never is (its byte 8 is >= 0x80).
//
// A minter numbers the clicks of its ad 0, 1, 2, ..., so the clicks of an (ad, minute,
// minter) are a handful of intervals, most often one: 12 bytes each, however many clicks
// it covers. Runs are kept sorted by (minute, minter index, first sequence), disjoint and
// never touching (a filled gap merges its two neighbours). Minters are interned per ad in
// the order they come (a run names its minter in 4 bytes; a new minter renumbers nothing)
// with a sorted index to find them. Pure, not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

struct sequenced_id {
  std::uint64_t minter = 0;
  std::uint32_t sequence = 0;
  friend bool operator==(const sequenced_id& a, const sequenced_id& b) {
    return a.minter == b.minter && a.sequence == b.sequence;
  }
};

/// `id` read as the recommended layout; nullopt if it does not follow it (bytes 8 to 11
/// are not zero).
std::optional<sequenced_id> as_sequenced(const click_id& id);
/// The id of `s` in the recommended layout.
click_id to_click_id(const sequenced_id& s);

/// Minutes are given as their start in ms since the epoch (a multiple of 60,000).
class id_runs {
 public:
  /// The sequences first to last of one minter.
  using span = id_span;

  /// Inserts; false if it was there.
  bool insert(std::int64_t minute, const sequenced_id& id);
  /// Inserts every id of `s` (merging the runs it overlaps or touches: O(log n)).
  void insert_span(std::int64_t minute, const span& s);
  /// Makes `minute` in memory (has()) with no ids yet.
  void touch(std::int64_t minute);
  bool contains(std::int64_t minute, const sequenced_id& id) const;
  /// True if `minute` is in memory: it holds an id, or was touched.
  bool has(std::int64_t minute) const;
  /// Forgets the ids of `minute`.
  void drop(std::int64_t minute);
  /// Forgets `minute` if it holds no id (it was only touched).
  void drop_if_empty(std::int64_t minute);

  std::size_t size() const;  ///< ids
  std::size_t size(std::int64_t minute) const;
  std::size_t runs() const { return runs_.size(); }
  std::size_t minters() const { return minters_.size(); }  ///< named by some run (or a touched minute's)
  bool knows(std::uint64_t minter) const { return index_of(minter).has_value(); }
  std::size_t memory_bytes() const;

  /// The ids of `minute`, by (minter, sequence).
  std::vector<sequenced_id> ids(std::int64_t minute) const;
  /// The runs of `minute`, by (minter, first).
  std::vector<span> spans(std::int64_t minute) const;

 private:
  struct run {  // 12 bytes
    std::uint32_t minter;  ///< index into minters_
    std::uint32_t first, last;
  };
  struct minute_end {  // 8 bytes: an ad has one per minute in memory (11 or more)
    std::int32_t minute;  ///< minutes since the epoch (key()): 4083 years either side of 1970
    std::uint32_t end;    ///< its runs are runs_[end of the minute before, end)
  };
  static std::int32_t key(std::int64_t minute_ms) {
    const auto q = minute_ms / 60'000;  // (floor: -1 ms is the minute before 0)
    return static_cast<std::int32_t>(q * 60'000 > minute_ms ? q - 1 : q);
  }
  struct minter_entry {
    std::uint64_t minter;
    std::uint32_t index;  ///< what runs call it: dense, in the order minters came
  };
  std::uint32_t begin_of(std::size_t minute_index) const {
    return minute_index == 0 ? 0 : minutes_[minute_index - 1].end;
  }
  /// The minute's index in minutes_, or minutes_.size().
  std::size_t find(std::int64_t minute) const;
  /// The minute's index in minutes_, adding it if it is not there.
  std::size_t at(std::int64_t minute);
  std::optional<std::uint32_t> index_of(std::uint64_t minter) const;
  /// The minter's index, interning it.
  std::uint32_t intern(std::uint64_t minter);
  /// Forgets minters no run names any more (renumbering the others, in the same order).
  void forget_unused_minters();
  /// The minter of each index.
  std::vector<std::uint64_t> minter_of_index() const;
  void shift_ends(std::size_t from_minute_index, int by);

  std::vector<minter_entry> minters_;  ///< sorted by minter
  std::vector<minute_end> minutes_;    ///< by minute
  std::vector<run> runs_;
};

}  // namespace adclick
