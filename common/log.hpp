// One JSON object per line on stderr: {"ts":"...","level":"info","event":"...",...}.
// Usage: log_info("checkpoint_failed").kv("partition", 3).kv("error", text);
// The line is written when the temporary is destroyed, in one write() call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace adclick {

class log_line {
 public:
  log_line(const char* level, std::string_view event);
  ~log_line();
  log_line(const log_line&) = delete;
  log_line& operator=(const log_line&) = delete;

  log_line& kv(std::string_view key, std::string_view value);
  log_line& kv(std::string_view key, const char* value) { return kv(key, std::string_view{value}); }
  log_line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view{value}); }
  log_line& kv(std::string_view key, std::int64_t value);
  log_line& kv(std::string_view key, std::uint64_t value);
  log_line& kv(std::string_view key, int value) { return kv(key, static_cast<std::int64_t>(value)); }
  log_line& kv(std::string_view key, unsigned value) { return kv(key, static_cast<std::uint64_t>(value)); }
  log_line& kv(std::string_view key, bool value);

 private:
  void key(std::string_view k);
  std::string buf_;
};

inline log_line log_info(std::string_view event) { return log_line{"info", event}; }
inline log_line log_warn(std::string_view event) { return log_line{"warn", event}; }
inline log_line log_error(std::string_view event) { return log_line{"error", event}; }

/// Turns every log line of the process off (false) or on: for a CLI that runs the
/// service's code (adclick reconcile) and reports in its own words.
void set_logging(bool on);

/// Appends `s` to `out` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace adclick
