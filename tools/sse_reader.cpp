#include "tools/sse_reader.hpp"

namespace adclick {

std::vector<sse_event> sse_reader::feed(const std::string& chunk) {
  std::vector<sse_event> out;
  buffer_ += chunk;
  std::size_t start = 0;
  for (auto end = buffer_.find('\n', start); end != std::string::npos; end = buffer_.find('\n', start)) {
    std::string line = buffer_.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {  // the end of an event
      if (has_data_ || !current_.id.empty()) {
        if (current_.event.empty()) current_.event = "message";
        out.push_back(std::move(current_));
      }
      current_ = {};
      has_data_ = false;
      continue;
    }
    if (line[0] == ':') {
      ++comments_;
      continue;
    }
    const auto colon = line.find(':');
    const auto field = line.substr(0, colon);
    auto value = colon == std::string::npos ? std::string{} : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "data") {
      if (has_data_) current_.data += '\n';
      current_.data += value;
      has_data_ = true;
    } else if (field == "id") {
      current_.id = value;
    } else if (field == "event") {
      current_.event = value;
    } else if (field == "retry") {
      try {
        retry_ms_ = std::stoll(value);
      } catch (...) {
      }
    }
  }
  buffer_.erase(0, start);
  return out;
}

}  // namespace adclick
