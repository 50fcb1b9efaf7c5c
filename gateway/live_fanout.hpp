// Live updates to the streaming clients (SSE sessions): who watches what, and a coalescing
// queue per client. Plain C++ between the live hub actor (which delivers) and the HTTP
// threads (each serving one session).
//
// Events are absolute counts of one minute of an ad, campaign or advertiser, so a queue
// keeps only the newest per minute: a slow client gets fewer events, never stale ones, and
// its memory is bounded by what it watches. Every event gets the next sequence number (the
// SSE `id:`).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

struct live_event {
  std::uint64_t seq = 0;
  entity kind = entity::ad;
  std::uint64_t id = 0;
  series_point point;
};

class live_fanout {
 public:
  /// What one client watches.
  struct filter {
    std::set<std::uint64_t> ads, campaigns, advertisers;
    bool matches(entity kind, std::uint64_t id) const;
    std::size_t size() const { return ads.size() + campaigns.size() + advertisers.size(); }
  };

  class session {
   public:
    explicit session(filter f) : filter_(std::move(f)) {}
    /// Waits up to `timeout` for events; empty after a quiet `timeout`; nullopt once the
    /// session is closed (shutdown, or it fell too far behind). Never returns an event
    /// older (a lower count or version) than one it returned before for the same minute.
    std::optional<std::vector<live_event>> wait(std::chrono::milliseconds timeout);
    const filter& watches() const { return filter_; }
    /// Queues an event the session made itself (the replay of current counts).
    void offer(const live_event& e) { push(e); }

   private:
    friend class live_fanout;
    void push(const live_event& e);
    void close();
    filter filter_;
    std::mutex mutex_;
    std::condition_variable cv_;
    using key = std::tuple<entity, std::uint64_t, std::int64_t>;
    std::map<key, live_event> pending_;
    std::map<key, std::pair<std::uint64_t, std::uint32_t>> sent_;  ///< highest (count, version) sent
    bool closed_ = false;
  };

  explicit live_fanout(std::size_t max_sessions) : max_sessions_(max_sessions) {}

  /// A new session, or nullptr when max_sessions are open.
  std::shared_ptr<session> open(filter f);
  /// Ends a session (its client went away).
  void close(const std::shared_ptr<session>& s);
  /// Closes every session (shutdown): their wait() returns nullopt.
  void close_all();

  /// True if any session watches (kind, id).
  bool watching(entity kind, std::uint64_t id) const;
  /// Hands the event to every session watching it.
  void deliver(entity kind, std::uint64_t id, const series_point& p);
  /// The next event sequence number (for events a session makes itself, e.g. a replay).
  std::uint64_t next_seq() { return seq_.fetch_add(1) + 1; }
  std::size_t sessions() const;
  std::size_t max_sessions() const { return max_sessions_; }

 private:
  using key = std::pair<entity, std::uint64_t>;
  struct key_hash {
    std::size_t operator()(const key& k) const { return std::hash<std::uint64_t>{}(k.second * 3 + static_cast<std::uint64_t>(k.first)); }
  };
  std::size_t max_sessions_;
  mutable std::shared_mutex mutex_;
  std::vector<std::shared_ptr<session>> sessions_;
  std::unordered_map<key, std::size_t, key_hash> watched_;  ///< how many sessions watch each
  std::atomic<std::uint64_t> seq_{0};
};

}  // namespace adclick
