#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace adclick::test {

tcp_proxy::tcp_proxy(int target_port) : target_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listener_, 16);
  socklen_t len = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread{[this] { accept_loop(); }};
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  acceptor_.join();
  ::close(listener_);
  std::lock_guard<std::mutex> lock{mutex_};
  for (auto& t : threads_) t.join();
}

void tcp_proxy::accept_loop() {
  while (!stop_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock{mutex_};
    threads_.emplace_back([this, client] { pump(client); });
  }
}

void tcp_proxy::pump(int client) {
  int server = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(target_));
  if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(client);
    ::close(server);
    return;
  }
  char buf[64 * 1024];
  bool open = true;
  while (open && !stop_) {
    if (paused_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const int from = i == 0 ? client : server, to = i == 0 ? server : client;
      auto n = ::read(from, buf, sizeof buf);
      if (n <= 0) {
        open = false;
        break;
      }
      for (ssize_t sent = 0; sent < n;) {
        auto w = ::write(to, buf + sent, static_cast<std::size_t>(n - sent));
        if (w <= 0) {
          open = false;
          break;
        }
        sent += w;
      }
    }
  }
  ::close(client);
  ::close(server);
}

}  // namespace adclick::test
