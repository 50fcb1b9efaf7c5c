// A Bloom filter over click ids, kept as bytes (what is stored under f/<ad>/<minute>):
// byte 0 is the number of hash functions, the rest is the bit array. Click ids are random,
// so their two 8-byte halves serve as the two base hashes (double hashing). No false
// negatives; about 1% false positives at 10 bits per id. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/types.hpp"

namespace adclick::bloom {

constexpr std::size_t bits_per_id = 10;
constexpr std::uint8_t hashes = 7;

/// A filter sized for `ids` (at least 64 bits) holding all of them.
std::string build(const std::vector<click_id>& ids);
/// Adds `id` to a filter made by build().
void add(std::string& filter, const click_id& id);
/// False: `id` was never added. True: it may have been.
bool may_contain(std::string_view filter, const click_id& id);

}  // namespace adclick::bloom
