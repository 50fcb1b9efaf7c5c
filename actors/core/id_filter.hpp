// A Bloom filter over the click ids of one (ad, minute), the in-memory front of the ids
// that live in the store (DESIGN 4.2): "no" is certain, "maybe" costs a store lookup.
//
// Split-block layout (as Impala and Parquet use): an id's hash picks one 32-byte block
// and sets one bit in each of its eight 32-bit words, so a test touches one cache line.
// The number of ids a minute will get is not known when it opens, so the filter grows in
// stages: the first is sized for the caller's estimate, each next one for three times the
// ids so far with 2 more bits per id (which about halves its false positives); an id goes
// into the newest stage and a test asks every stage. One stage at 12 bits per id gives
// about 0.5% false positives when full; any number of stages stays under twice that. Ids are hashed in full (a sequenced id is not random). Pure, not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

class id_filter {
 public:
  static constexpr std::size_t bits_per_id = 12;

  /// An empty filter whose first stage holds `expected` ids at bits_per_id (at least one
  /// block); no memory until the first add.
  explicit id_filter(std::size_t expected = 0) { first_.block_count = blocks_for(expected, 0); }

  void add(const click_id& id);
  /// False: `id` was never added. True: it may have been.
  bool may_contain(const click_id& id) const;

  /// Takes every id of `other` too (its stages join these: nothing is rehashed).
  void absorb(id_filter&& other);

  std::size_t size() const;  ///< ids added
  std::size_t stages() const { return !first_.blocks ? 0 : 1 + (more_ ? more_->size() : 0); }
  std::size_t memory_bytes() const;

  /// The bytes to store (persistence/FORMAT.md, id filter), and back. parse() refuses
  /// anything it did not write (nullopt).
  std::string serialize() const;
  static std::optional<id_filter> parse(std::string_view bytes);

 private:
  using block = std::array<std::uint32_t, 8>;
  // Kept small (16 bytes): an ad has a filter per open minute, most of them of a few ids.
  // A stage's capacity, the ids it was sized for, follows from its blocks and its place.
  struct stage {
    std::unique_ptr<block[]> blocks;
    std::uint32_t block_count = 0;  ///< (first_ before the first add: the blocks it will get)
    std::uint32_t count = 0;        ///< ids added to it
  };
  /// Bits per id of the stage at `index`: each later one spends 2 more.
  static std::size_t bits_per(std::size_t index) { return std::min<std::size_t>(bits_per_id + 2 * index, 24); }
  static std::uint32_t blocks_for(std::size_t ids, std::size_t index);
  static std::uint32_t capacity(const stage& s, std::size_t index);
  void add_stage(std::size_t ids);
  void push_stage(stage&& s);  ///< after the others
  stage& last() { return more_ && !more_->empty() ? more_->back() : first_; }
  template <class F>
  void for_each_stage(F&& f) const {
    if (!first_.blocks) return;
    f(first_);
    if (more_)
      for (const auto& s : *more_) f(s);
  }

  // Most filters have one stage: it is inline, and only a filter that grows allocates
  // the list of the others. 24 bytes in all.
  stage first_;
  std::unique_ptr<std::vector<stage>> more_;
};

}  // namespace adclick
