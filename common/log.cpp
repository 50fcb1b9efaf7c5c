#include "common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "common/time.hpp"

namespace adclick {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

namespace {
std::atomic<bool> logging{true};
std::atomic<int> lowest{info};
constexpr const char* level_names[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_logging(bool on) { logging.store(on, std::memory_order_relaxed); }

bool set_log_level(std::string_view level) {
  for (int i = 0; i < 4; ++i)
    if (level == level_names[i]) {
      lowest.store(i, std::memory_order_relaxed);
      return true;
    }
  return false;
}

log_line::log_line(int level, std::string_view component, std::string_view event)
  : on_(level >= lowest.load(std::memory_order_relaxed) && logging.load(std::memory_order_relaxed)) {
  if (!on_) return;
  buf_ = "{\"ts\":";
  append_json_string(buf_, format_time(now_ms()));
  buf_ += ",\"level\":\"";
  buf_ += level_names[level];
  buf_ += "\",\"component\":";
  append_json_string(buf_, component);
  buf_ += ",\"event\":";
  append_json_string(buf_, event);
}

log_line::~log_line() {
  if (!on_) return;
  buf_ += "}\n";
  auto rc = ::write(STDERR_FILENO, buf_.data(), buf_.size());
  (void)rc;
}

void log_line::key(std::string_view k) {
  buf_.push_back(',');
  append_json_string(buf_, k);
  buf_.push_back(':');
}

log_line& log_line::kv(std::string_view k, std::string_view value) {
  if (!on_) return *this;
  key(k);
  append_json_string(buf_, value);
  return *this;
}

log_line& log_line::kv(std::string_view k, std::int64_t value) {
  if (!on_) return *this;
  key(k);
  buf_ += std::to_string(value);
  return *this;
}

log_line& log_line::kv(std::string_view k, std::uint64_t value) {
  if (!on_) return *this;
  key(k);
  buf_ += std::to_string(value);
  return *this;
}

log_line& log_line::kv(std::string_view k, bool value) {
  if (!on_) return *this;
  key(k);
  buf_ += value ? "true" : "false";
  return *this;
}

}  // namespace adclick
