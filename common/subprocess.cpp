#include "common/subprocess.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

namespace adclick {

subprocess::subprocess(const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // The child starts with the parent's blocked signals (adclickd blocks SIGTERM and SIGINT
    // in every thread): unblock them, or it could not be stopped by them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    if (!log_file.empty()) {
      int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
}

subprocess::~subprocess() {
  if (pid_ > 0) stop();
}

subprocess::subprocess(subprocess&& other) noexcept : pid_(other.pid_), exit_code_(other.exit_code_) {
  other.pid_ = -1;
}

subprocess& subprocess::operator=(subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) stop();
    pid_ = other.pid_;
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
  }
  return *this;
}

bool subprocess::running() {
  if (pid_ <= 0) return false;
  if (exit_code_ >= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  else exit_code_ = 255;
  return false;
}

void subprocess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

bool subprocess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

int subprocess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_code_;
  if (running()) {
    ::kill(pid_, SIGTERM);
    if (!wait(grace)) {
      ::kill(pid_, SIGKILL);
      wait(std::chrono::seconds(10));
    }
  }
  pid_ = -1;
  return exit_code_;
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {
/// Binds a TCP socket to 127.0.0.1:`port` (0: one the kernel picks) and closes it; the port
/// it got, or -1.
int try_bind_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

/// The lowest port the kernel gives outgoing connections (ip_local_port_range).
int ephemeral_floor() {
  std::ifstream in{"/proc/sys/net/ipv4/ip_local_port_range"};
  int low = 0;
  return in >> low ? low : 32768;
}
}  // namespace

int free_loopback_port() {
  // Below the ephemeral range: a server restarted on the same port (a test stops and
  // starts adclickd or nats-server) must not find it taken by someone's outgoing
  // connection, which the kernel numbers from that range (CI saw http_bind_failed).
  const int below = ephemeral_floor();
  if (below > 11'000) {
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<int> pick{10'000, below - 1};
    for (int i = 0; i < 200; ++i)
      if (int port = try_bind_loopback(pick(rng)); port > 0) return port;
  }
  return try_bind_loopback(0);
}

}  // namespace adclick
