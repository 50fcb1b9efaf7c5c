// A minimal blocking HTTP GET client for the CLI and tests (wraps cpp-httplib, which only
// gateway/ includes). One instance keeps its connection alive between requests.
#pragma once

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
  };
  response get(const std::string& path_and_query);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace adclick
