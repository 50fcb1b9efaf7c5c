#include "tools/http_client.hpp"

#include <httplib.h>

namespace adclick {

struct http_client::impl {
  httplib::Client client;
  explicit impl(const std::string& base) : client(base) {
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // small requests on a kept-alive connection: no Nagle delay
    client.set_connection_timeout(5);
    client.set_read_timeout(30);
  }
};

namespace {
http_client::response to_response(httplib::Result& res) {
  http_client::response out;
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = std::move(res->body);
  out.retry_after = res->get_header_value("Retry-After");
  return out;
}
}  // namespace

http_client::http_client(const std::string& base)
  : impl_(std::make_unique<impl>(base.find("://") == std::string::npos ? "http://" + base : base)) {}
http_client::~http_client() = default;

http_client::response http_client::get(const std::string& path_and_query) {
  auto res = impl_->client.Get(path_and_query.c_str());
  return to_response(res);
}

http_client::response http_client::post(const std::string& path_and_query) {
  // A checkpoint on a slow disk may take long: give it the admin verb's own deadline.
  impl_->client.set_read_timeout(70);
  auto res = impl_->client.Post(path_and_query.c_str(), "", "application/octet-stream");
  impl_->client.set_read_timeout(30);
  return to_response(res);
}


http_client::response http_client::stream(const std::string& path_and_query, const std::string& last_event_id,
                                          const std::function<bool(const std::string&)>& on_chunk) {
  response out;
  httplib::Headers headers;
  if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
  int status = 0;
  auto res = impl_->client.Get(
    path_and_query.c_str(), headers,
    [&](const httplib::Response& r) {
      status = r.status;
      return true;
    },
    [&](const char* data, std::size_t n) {
      if (status != 200) {
        out.body.append(data, n);
        return true;
      }
      return on_chunk(std::string{data, n});
    });
  out.status = status;
  if (!res && status == 0) out.error = httplib::to_string(res.error());
  return out;
}

}  // namespace adclick
