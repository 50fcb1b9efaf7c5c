// systemd's service notification protocol (sd_notify(3)) without libsystemd: one datagram
// per state change to the unix socket named by $NOTIFY_SOCKET (a leading '@' names an
// abstract socket). With Type=notify, systemd waits for READY=1 before it calls the
// service started, and with WatchdogSec= it restarts a service that stops sending
// WATCHDOG=1 (config/adclickd.service). Does nothing when NOTIFY_SOCKET is not set.
// Thread safety: use from one thread (the service's main loop).
#pragma once

#include <chrono>
#include <string>

namespace adclick {

class systemd_notifier {
 public:
  /// Reads NOTIFY_SOCKET and WATCHDOG_USEC (honoured only if WATCHDOG_PID is unset or ours).
  systemd_notifier();
  ~systemd_notifier();
  systemd_notifier(const systemd_notifier&) = delete;
  systemd_notifier& operator=(const systemd_notifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  /// How often to send WATCHDOG=1 (half of WATCHDOG_USEC); zero when there is no watchdog.
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }
  /// Sends `state` ("READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1", several joined by
  /// newlines). False if it could not be sent (or notification is off).
  bool send(const std::string& state);

 private:
  int fd_ = -1;
  std::string path_;
  std::chrono::microseconds watchdog_{0};
};

}  // namespace adclick
