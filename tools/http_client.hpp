// A minimal blocking HTTP GET/POST client for the CLI and tests (wraps cpp-httplib, which only
// gateway/ includes). One instance keeps its connection alive between requests.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace adclick {

class http_client {
 public:
  /// `base` is "http://host:port" (or "host:port").
  explicit http_client(const std::string& base);
  ~http_client();

  struct response {
    int status = 0;    ///< 0 when the request failed at the transport level
    std::string body;
    std::string error; ///< transport error text when status == 0
    std::string retry_after;  ///< the Retry-After header, empty if absent
  };
  response get(const std::string& path_and_query);
  /// A POST with an empty body (the admin verbs that change state).
  response post(const std::string& path_and_query);
  /// A streaming GET: `on_chunk` gets the body as it arrives and returns false to stop.
  /// `last_event_id` (SSE resume) is sent as Last-Event-ID when not empty. The response's
  /// body holds only a non-2xx answer.
  response stream(const std::string& path_and_query, const std::string& last_event_id,
                  const std::function<bool(const std::string& chunk)>& on_chunk);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
