#include "tests/support/test_support.hpp"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

namespace adclick::test {

temp_dir::temp_dir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (;;) {
    path_ = base / ("adclick-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(path_)) break;
  }
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::str(const std::string& child) const {
  return child.empty() ? path_.string() : (path_ / child).string();
}

nats_server::nats_server(const std::string& config) : port_(free_loopback_port()) {
  argv_ = {"nats-server", "-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd", dir_.str("js0")};
  if (!config.empty()) {
    std::ofstream{dir_.str("nats.conf")} << config << "\n";
    argv_.push_back("-c");
    argv_.push_back(dir_.str("nats.conf"));
  }
  launch();
}

bool nats_server::launch() {
  proc_ = subprocess{argv_, dir_.str("nats-server.log")};
  ready_ = proc_.started() && wait_for_port(port_, std::chrono::seconds(15));
  return ready_;
}

void nats_server::kill() {
  proc_.signal(SIGKILL);
  proc_.wait(std::chrono::seconds(10));
  ready_ = false;
}

bool nats_server::restart(bool fresh) {
  if (proc_.running()) kill();
  if (fresh) argv_[7] = dir_.str("js" + std::to_string(++incarnation_));
  return launch();
}

std::string adclickd_bin() { return ADCLICKD_BIN; }
std::string adclick_bin() { return ADCLICK_BIN; }

int run(const std::vector<std::string>& argv, std::string& output, std::chrono::seconds timeout) {
  temp_dir dir;
  auto log = dir.str("out.log");
  subprocess p{argv, log};
  if (!p.wait(timeout)) p.stop(std::chrono::seconds(2));
  int code = p.stop();
  std::ifstream in{log};
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  return code;
}

}  // namespace adclick::test
