// Reads a Server-Sent Events stream (text/event-stream) as it arrives in chunks: the
// events (id, event name, data) and the comment lines (heartbeats). Pure; for `adclick
// tail` and the tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adclick {

struct sse_event {
  std::string id;
  std::string event;  ///< "message" when the stream names none
  std::string data;
};

class sse_reader {
 public:
  /// Feeds the next chunk; returns the events it completed.
  std::vector<sse_event> feed(const std::string& chunk);
  std::uint64_t comments() const { return comments_; }  ///< comment lines so far (": hb")
  std::int64_t retry_ms() const { return retry_ms_; }   ///< the last `retry:`, or -1

 private:
  std::string buffer_;
  sse_event current_;
  bool has_data_ = false;
  std::uint64_t comments_ = 0;
  std::int64_t retry_ms_ = -1;
};

}  // namespace adclick
