#include "actors/core/id_filter.hpp"

#include <algorithm>
#include <iterator>

#include "persistence/bytes.hpp"

namespace adclick {

namespace {

/// Odd constants, one per word of a block: word i sets bit (key * salt[i]) >> 27.
constexpr std::array<std::uint32_t, 8> salt{0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                            0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

std::size_t block_of(std::uint64_t h, std::size_t blocks) {
  return static_cast<std::size_t>(((h >> 32) * blocks) >> 32);  // uniform in [0, blocks)
}

constexpr std::uint8_t format_tag = 0xB1;  // not 7, the hash count byte of format-4 filters

}  // namespace

std::uint32_t id_filter::blocks_for(std::size_t ids, std::size_t index) {
  ids = std::min<std::size_t>(std::max<std::size_t>(ids, 1), UINT32_MAX / 2);
  return static_cast<std::uint32_t>((ids * bits_per(index) + 255) / 256);
}

std::uint32_t id_filter::capacity(const stage& s, std::size_t index) {
  return static_cast<std::uint32_t>(std::min<std::size_t>(std::size_t{s.block_count} * 256 / bits_per(index), UINT32_MAX / 2));
}

void id_filter::add_stage(std::size_t ids) {
  // Each later stage spends 2 more bits per id, which about halves its false positives:
  // however many stages a minute grows, their sum stays under twice the first's.
  stage s;
  s.block_count = blocks_for(ids, stages());
  s.blocks.reset(new block[s.block_count]());
  push_stage(std::move(s));
}

std::size_t id_filter::size() const {
  std::size_t n = 0;
  for_each_stage([&](const stage& s) { n += s.count; });
  return std::min<std::size_t>(n, UINT32_MAX / 2);
}

void id_filter::push_stage(stage&& s) {
  if (!first_.blocks) {
    first_ = std::move(s);
    return;
  }
  if (!more_) more_ = std::make_unique<std::vector<stage>>();
  more_->push_back(std::move(s));
}

void id_filter::add(const click_id& id) {
  if (!first_.blocks) {
    first_.blocks.reset(new block[first_.block_count]());  // (sized at construction)
  } else if (last().count >= capacity(last(), stages() - 1)) {
    add_stage(3 * size());
  }
  auto& s = last();
  const auto h = click_id_hash(id);
  auto& b = s.blocks[block_of(h, s.block_count)];
  const auto key = static_cast<std::uint32_t>(h);
  for (std::size_t i = 0; i < 8; ++i) b[i] |= 1U << ((key * salt[i]) >> 27);
  if (s.count < UINT32_MAX / 2) ++s.count;  // (beyond: parse() refuses it, and the stored ids decide)
}

void id_filter::absorb(id_filter&& other) {
  if (!other.first_.blocks) return;
  // Theirs go first: ours, last, keeps taking new ids while it has room.
  std::vector<stage> all;
  all.reserve(other.stages() + stages());  // (no allocation once stages start to move)
  for (auto* f : {&other, this}) {
    if (!f->first_.blocks) continue;
    all.push_back(std::move(f->first_));
    if (f->more_) std::move(f->more_->begin(), f->more_->end(), std::back_inserter(all));
  }
  first_ = std::move(all.front());
  all.erase(all.begin());
  more_ = all.empty() ? nullptr : std::make_unique<std::vector<stage>>(std::move(all));
  other = id_filter{};
}

bool id_filter::may_contain(const click_id& id) const {
  const auto h = click_id_hash(id);
  const auto key = static_cast<std::uint32_t>(h);
  bool found = false;
  for_each_stage([&](const stage& s) {
    if (found) return;
    const auto& b = s.blocks[block_of(h, s.block_count)];
    bool all = true;
    for (std::size_t i = 0; i < 8; ++i) all = all && (b[i] >> ((key * salt[i]) >> 27) & 1U);
    found = all;
  });
  return found;
}

std::size_t id_filter::memory_bytes() const {
  std::size_t n = more_ ? sizeof(*more_) + more_->capacity() * sizeof(stage) : 0;
  for_each_stage([&](const stage& s) { n += std::size_t{s.block_count} * sizeof(block); });
  return n;
}

std::string id_filter::serialize() const {
  std::string out;
  out.push_back(static_cast<char>(format_tag));
  bytes::put_le32(out, static_cast<std::uint32_t>(stages()));
  std::size_t index = 0;
  for_each_stage([&](const stage& s) {
    bytes::put_le32(out, capacity(s, index++));  // (parse() skips it: it follows from the blocks)
    bytes::put_le32(out, s.count);
    bytes::put_le32(out, s.block_count);
    for (std::uint32_t i = 0; i < s.block_count; ++i)
      for (auto w : s.blocks[i]) bytes::put_le32(out, w);
  });
  return out;
}

std::optional<id_filter> id_filter::parse(std::string_view in) {
  if (in.empty() || static_cast<std::uint8_t>(in[0]) != format_tag) return std::nullopt;
  in.remove_prefix(1);
  std::uint32_t n = 0;
  if (!bytes::take_le32(in, n) || n > 64) return std::nullopt;
  id_filter f;
  std::size_t size = 0;
  for (std::uint32_t k = 0; k < n; ++k) {
    stage s;
    std::uint32_t cap = 0, blocks = 0;
    if (!bytes::take_le32(in, cap) || !bytes::take_le32(in, s.count) || !bytes::take_le32(in, blocks)) return std::nullopt;
    if (blocks == 0 || in.size() < std::size_t{blocks} * sizeof(block)) return std::nullopt;
    s.blocks.reset(new block[blocks]());
    s.block_count = blocks;
    for (std::uint32_t i = 0; i < blocks; ++i)
      for (auto& w : s.blocks[i]) bytes::take_le32(in, w);
    if (s.count > UINT32_MAX / 2 - size) return std::nullopt;
    size += s.count;
    f.push_stage(std::move(s));
  }
  if (!in.empty()) return std::nullopt;
  return f;
}

}  // namespace adclick
