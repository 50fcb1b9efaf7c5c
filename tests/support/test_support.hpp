// Shared test fixtures: temporary directories, a real nats-server on a free loopback port,
// the built binaries, and a way to run a command and capture its output. Every process
// started here is stopped when its fixture is destroyed (and dies with the test process).
#pragma once

#include <caf/expected.hpp>

#include <chrono>
#include <stdexcept>
#include <filesystem>
#include <string>
#include <vector>

#include "common/errc.hpp"
#include "common/subprocess.hpp"

namespace adclick::test {

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& child = {}) const;

 private:
  std::filesystem::path path_;
};

/// `nats-server -js` on 127.0.0.1:<free port>, store in its own temp dir. `config` is
/// extra nats-server configuration text (e.g. "max_pending: 1048576"), if any.
class nats_server {
 public:
  explicit nats_server(const std::string& config = {});
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  bool ready() const { return ready_; }

  /// Sends `sig` to the server (SIGKILL: a crash; SIGSTOP/SIGCONT: a stall).
  void signal(int sig) { proc_.signal(sig); }
  /// Kills the server and waits until it is gone.
  void kill();
  /// Starts it again on the same port: with its store as it was, or (`fresh`) an empty
  /// one, as a broker that comes back having lost its disk. Returns ready().
  bool restart(bool fresh = false);

 private:
  bool launch();
  temp_dir dir_;
  int port_;
  std::vector<std::string> argv_;
  int incarnation_ = 0;
  subprocess proc_;
  bool ready_ = false;
};

/// The value of `x`, or an exception (a test failure) carrying its error.
template <class T>
T must(caf::expected<T> x) {
  if (!x) throw std::runtime_error(describe(x.error()));
  return std::move(*x);
}

std::string adclickd_bin();
std::string adclick_bin();

/// Runs argv to completion (killing it after `timeout`); returns its exit code and puts
/// its stdout and stderr in `output`.
int run(const std::vector<std::string>& argv, std::string& output,
        std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace adclick::test
