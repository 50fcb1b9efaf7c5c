// Little-endian integers in stored values, whatever the host (persistence/FORMAT.md): the
// one place values are put into bytes and read back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace adclick::bytes {

inline void put_le32(std::string& out, std::uint32_t x) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(x >> shift));
}
inline void put_le64(std::string& out, std::uint64_t x) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>(x >> shift));
}
inline std::uint32_t get_le32(const char* p) {
  std::uint32_t x = 0;
  for (int i = 3; i >= 0; --i) x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}
inline std::uint64_t get_le64(const char* p) {
  std::uint64_t x = 0;
  for (int i = 7; i >= 0; --i) x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

/// Reads integers off the front of `in`; false (and `in` unchanged) if too few bytes are left.
inline bool take_le32(std::string_view& in, std::uint32_t& x) {
  if (in.size() < 4) return false;
  x = get_le32(in.data());
  in.remove_prefix(4);
  return true;
}
inline bool take_le64(std::string_view& in, std::uint64_t& x) {
  if (in.size() < 8) return false;
  x = get_le64(in.data());
  in.remove_prefix(8);
  return true;
}

}  // namespace adclick::bytes
