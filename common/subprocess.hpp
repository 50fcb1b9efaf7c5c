// A child process owned by the caller: started with fork/exec, stopped (SIGTERM, then
// SIGKILL after a grace period) when the handle is destroyed. The child also gets SIGTERM
// if this process dies, so nothing outlives the test or service that started it.
// Used for the embedded nats-server and by tests that run real binaries.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace adclick {

class subprocess {
 public:
  subprocess() = default;
  /// Starts argv[0] (searched in PATH) with stdout and stderr appended to `log_file`
  /// (or inherited when empty). Check started().
  subprocess(const std::vector<std::string>& argv, const std::string& log_file = {});
  ~subprocess();
  subprocess(subprocess&& other) noexcept;
  subprocess& operator=(subprocess&& other) noexcept;
  subprocess(const subprocess&) = delete;
  subprocess& operator=(const subprocess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  /// True while the child has not exited (reaps it when it has).
  bool running();
  /// Exit status once exited (-1 while running, 128+N if killed by signal N).
  int exit_code() const { return exit_code_; }
  /// Sends `sig` (e.g. SIGKILL for crash tests).
  void signal(int sig);
  /// SIGTERM, waits up to `grace`, then SIGKILL. Returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  /// Waits up to `timeout` for the child to exit by itself. Returns true if it did.
  bool wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

/// True once something accepts TCP connections on 127.0.0.1:`port`, false after `timeout`.
bool wait_for_port(int port, std::chrono::milliseconds timeout);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

}  // namespace adclick
