#include "gateway/nats/embedded_nats.hpp"

#include <filesystem>

#include "common/log.hpp"

namespace adclick {

embedded_nats::embedded_nats(std::string binary, int port, std::string store_dir, std::string log_file)
  : binary_(std::move(binary)), port_(port), store_dir_(std::move(store_dir)), log_file_(std::move(log_file)) {}

bool embedded_nats::start() {
  std::error_code ec;
  std::filesystem::create_directories(store_dir_, ec);
  proc_ = subprocess{{binary_, "-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd", store_dir_},
                     log_file_};
  if (!proc_.started() || !wait_for_port(port_, std::chrono::seconds(15))) {
    log_error("nats", "embedded_nats_failed").kv("binary", binary_).kv("port", port_).kv("log", log_file_);
    return false;
  }
  log_info("nats", "embedded_nats_started").kv("url", url()).kv("pid", static_cast<std::int64_t>(proc_.pid()));
  return true;
}

void embedded_nats::supervise() {
  if (proc_.running()) return;
  log_warn("nats", "embedded_nats_exited").kv("exit_code", proc_.exit_code());
  start();
}

}  // namespace adclick
