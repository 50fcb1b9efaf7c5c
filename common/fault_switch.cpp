#include "common/fault_switch.hpp"

#include <fstream>

namespace adclick {

fault_switch::fault_switch(std::string file) : file_(std::move(file)) {}

void fault_switch::refresh(std::chrono::steady_clock::time_point now) {
  if (file_.empty() || now < next_read_) return;
  next_read_ = now + std::chrono::milliseconds(50);
  listed_.clear();
  std::ifstream in{file_};
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) listed_.insert(line);
}

bool fault_switch::active(std::string_view name) {
  std::lock_guard<std::mutex> lock{mutex_};
  refresh(std::chrono::steady_clock::now());
  if (listed_.count(name) != 0) return true;
  auto it = armed_.find(name);
  if (it == armed_.end()) return false;
  if (it->second > 0 && --it->second == 0) armed_.erase(it);
  return true;
}

void fault_switch::arm(const std::string& name, int times) {
  std::lock_guard<std::mutex> lock{mutex_};
  if (times == 0) armed_.erase(name);
  else armed_[name] = times;
}

void fault_switch::disarm(const std::string& name) { arm(name, 0); }

}  // namespace adclick
