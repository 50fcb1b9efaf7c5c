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

http_client::http_client(const std::string& base)
  : impl_(std::make_unique<impl>(base.find("://") == std::string::npos ? "http://" + base : base)) {}
http_client::~http_client() = default;

http_client::response http_client::get(const std::string& path_and_query) {
  response out;
  auto res = impl_->client.Get(path_and_query.c_str());
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = std::move(res->body);
  return out;
}

}  // namespace adclick
