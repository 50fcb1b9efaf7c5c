// A TCP proxy on a free loopback port to 127.0.0.1:<target>, for the faults of a link
// between adclickd and nats-server: pause() stops forwarding in both directions (bytes
// wait in the kernel's buffers, as on a stalled network path; no connection is closed),
// resume() goes on. Every thread it starts ends with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

namespace adclick::test {

class tcp_proxy {
 public:
  explicit tcp_proxy(int target_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  void pause() { paused_ = true; }
  void resume() { paused_ = false; }

 private:
  void accept_loop();
  void pump(int client);

  int target_;
  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> paused_{false};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace adclick::test
