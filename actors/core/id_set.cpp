#include "actors/core/id_set.hpp"

#include <algorithm>

namespace adclick {

namespace {
const click_id zero_id{};
bool is_zero(const click_id& id) { return id == zero_id; }
}  // namespace

std::size_t id_set::slot_of(const click_id& id) const {
  return static_cast<std::size_t>(click_id_hash(id)) & (slots_.size() - 1);
}

bool id_set::contains(const click_id& id) const {
  if (is_zero(id)) return has_zero_;
  if (slots_.empty()) return false;
  for (auto i = slot_of(id);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == id) return true;
    if (is_zero(slots_[i])) return false;
  }
}

bool id_set::insert(const click_id& id) {
  if (is_zero(id)) {
    if (has_zero_) return false;
    has_zero_ = true;
    return true;
  }
  if ((size_ + 1) * 4 > slots_.size() * 3) grow();
  for (auto i = slot_of(id);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == id) return false;
    if (is_zero(slots_[i])) {
      slots_[i] = id;
      ++size_;
      return true;
    }
  }
}

void id_set::grow() {
  std::vector<click_id> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, zero_id);
  for (const auto& id : old) {
    if (is_zero(id)) continue;
    auto i = slot_of(id);
    while (!is_zero(slots_[i])) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = id;
  }
}

std::size_t id_set::longest_probe() const {
  std::size_t longest = 0;
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (!is_zero(slots_[i])) longest = std::max(longest, (i - slot_of(slots_[i])) & (slots_.size() - 1));
  return longest;
}

std::vector<click_id> id_set::ids() const {
  std::vector<click_id> out;
  out.reserve(size());
  if (has_zero_) out.push_back(zero_id);
  for (const auto& id : slots_)
    if (!is_zero(id)) out.push_back(id);
  return out;
}

}  // namespace adclick
