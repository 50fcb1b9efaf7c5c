#include "persistence/bloom.hpp"

#include <cstring>

namespace adclick::bloom {

namespace {

template <class F>
void for_each_bit(std::size_t nbits, const click_id& id, F&& f) {
  std::uint64_t h1, h2;
  std::memcpy(&h1, id.data(), 8);
  std::memcpy(&h2, id.data() + 8, 8);
  h2 |= 1;  // odd, so the probe sequence covers the array
  for (std::uint8_t i = 0; i < hashes; ++i) f(static_cast<std::size_t>((h1 + i * h2) % nbits));
}

}  // namespace

std::string build(const std::vector<click_id>& ids) {
  const std::size_t nbytes = std::max<std::size_t>(8, (ids.size() * bits_per_id + 7) / 8);
  std::string filter(1 + nbytes, '\0');
  filter[0] = static_cast<char>(hashes);
  for (const auto& id : ids) add(filter, id);
  return filter;
}

void add(std::string& filter, const click_id& id) {
  const std::size_t nbits = (filter.size() - 1) * 8;
  for_each_bit(nbits, id, [&](std::size_t bit) { filter[1 + bit / 8] = static_cast<char>(filter[1 + bit / 8] | (1 << (bit % 8))); });
}

bool may_contain(std::string_view filter, const click_id& id) {
  if (filter.size() < 2) return true;  // no usable filter: assume it may
  const std::size_t nbits = (filter.size() - 1) * 8;
  bool all = true;
  for_each_bit(nbits, id, [&](std::size_t bit) { all = all && (filter[1 + bit / 8] >> (bit % 8) & 1); });
  return all;
}

}  // namespace adclick::bloom
