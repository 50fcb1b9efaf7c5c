// One JSON object per line on stderr:
//   {"ts":"...","level":"error","component":"partition","event":"checkpoint_failed",...}.
// Usage: log_error("partition", "checkpoint_failed").kv("partition", 3).kv("error", text);
// The line is written when the temporary is destroyed, in one write() call; lines below
// the level set by set_log_level (log.level, default info) are not written. A line that
// can repeat many times a second goes through a log_limiter (common/log_limiter.hpp).
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace adclick {

class log_line {
 public:
  log_line(int level, std::string_view component, std::string_view event);
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
  bool on_;
  std::string buf_;
};

enum log_level : int { debug = 0, info = 1, warn = 2, error = 3 };

inline log_line log_debug(std::string_view component, std::string_view event) { return log_line{debug, component, event}; }
inline log_line log_info(std::string_view component, std::string_view event) { return log_line{info, component, event}; }
inline log_line log_warn(std::string_view component, std::string_view event) { return log_line{warn, component, event}; }
inline log_line log_error(std::string_view component, std::string_view event) { return log_line{error, component, event}; }

/// Lines below `level` are not written. "debug", "info", "warn", "error"; false if unknown.
bool set_log_level(std::string_view level);

/// Turns every log line of the process off (false) or on: for a CLI that runs the
/// service's code (adclick reconcile) and reports in its own words.
void set_logging(bool on);

/// Appends `s` to `out` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace adclick
