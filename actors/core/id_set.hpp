// A set of 16-byte click ids: flat open addressing with linear probing, ids compared in
// full. About 16 / max_load bytes per id (21 B at the 0.75 load it grows at), against
// ~60 B for std::unordered_set. Slots come from click_id_hash over all 16 bytes: a
// sequenced id (DESIGN's recommended layout: a minter, then a counter) shares its first 8
// bytes with every id of its minter. Pure, not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

class id_set {
 public:
  /// Inserts `id`; returns false if it was already present.
  bool insert(const click_id& id);
  bool contains(const click_id& id) const;
  std::size_t size() const { return size_ + (has_zero_ ? 1 : 0); }
  /// Bytes of heap this set holds.
  std::size_t memory_bytes() const { return capacity() * sizeof(click_id); }
  /// Every id, in no particular order.
  std::vector<click_id> ids() const;
  /// The longest distance of an id from the slot its hash names (a test of the spread:
  /// a few while ids hash well). Walks the whole table.
  std::size_t longest_probe() const;

 private:
  void grow();
  std::size_t slot_of(const click_id& id) const;
  std::size_t capacity() const { return slots_ ? std::size_t{1} << log_capacity_ : 0; }

  // Kept to 16 bytes: a minute's generations are often a handful of ids. The all-zero id
  // marks an empty slot; a real all-zero id is kept aside in has_zero_.
  std::unique_ptr<click_id[]> slots_;
  std::uint32_t size_ = 0;
  std::uint8_t log_capacity_ = 0;
  bool has_zero_ = false;
};

}  // namespace adclick
