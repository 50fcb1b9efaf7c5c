// The embedded NATS server (DESIGN 5): when no nats.url is configured and nats.embedded is
// on, adclickd starts `nats-server -js` on loopback with its store under the data
// directory, and restarts it if it dies. JetStream recovers its own store on restart.
#pragma once

#include <string>

#include "common/subprocess.hpp"

namespace adclick {

class embedded_nats {
 public:
  embedded_nats(std::string binary, int port, std::string store_dir, std::string log_file);

  /// Starts the server and waits until it accepts connections. False on failure.
  bool start();
  /// Restarts the server if it has exited. Call periodically.
  void supervise();
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string binary_;
  int port_;
  std::string store_dir_;
  std::string log_file_;
  subprocess proc_;
};

}  // namespace adclick
