#include "gateway/live_fanout.hpp"

#include <algorithm>

namespace adclick {

namespace {
/// A session whose client does not drain this many minutes is closed (it reconnects and
/// gets the current counts again).
constexpr std::size_t max_pending = 10'000;
}  // namespace

bool live_fanout::filter::matches(entity kind, std::uint64_t id) const {
  const auto& ids = kind == entity::ad ? ads : kind == entity::campaign ? campaigns : advertisers;
  return ids.count(id) != 0;
}

std::optional<std::vector<live_event>> live_fanout::session::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mutex_};
  cv_.wait_for(lock, timeout, [this] { return closed_ || !pending_.empty(); });
  if (closed_) return std::nullopt;
  std::vector<live_event> out;
  out.reserve(pending_.size());
  if (sent_.size() > max_pending) sent_.clear();  // old minutes; bounded memory
  for (auto& [k, e] : pending_) {
    const std::pair<std::uint64_t, std::uint32_t> mark{e.point.count, e.point.version};
    auto [it, fresh] = sent_.try_emplace(k, mark);
    if (!fresh) {
      if (mark <= it->second) continue;  // an older value than the client has
      it->second = mark;
    }
    out.push_back(e);
  }
  pending_.clear();
  std::sort(out.begin(), out.end(), [](const live_event& a, const live_event& b) { return a.seq < b.seq; });
  return out;
}

void live_fanout::session::push(const live_event& e) {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    if (closed_) return;
    // Counts and versions only grow: of two values of a minute the higher one is newer,
    // whatever the order they were queued in (a replay read races the hub's events).
    auto [it, fresh] = pending_.try_emplace({e.kind, e.id, e.point.start_ms}, e);
    if (!fresh && std::make_pair(e.point.count, e.point.version) >=
                    std::make_pair(it->second.point.count, it->second.point.version))
      it->second = e;
    if (pending_.size() > max_pending) closed_ = true;
  }
  cv_.notify_one();
}

void live_fanout::session::close() {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    closed_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<live_fanout::session> live_fanout::open(filter f) {
  std::unique_lock<std::shared_mutex> lock{mutex_};
  if (sessions_.size() >= max_sessions_) return nullptr;
  auto s = std::make_shared<session>(std::move(f));
  for (auto [kind, ids] : {std::pair{entity::ad, &s->watches().ads}, std::pair{entity::campaign, &s->watches().campaigns},
                           std::pair{entity::advertiser, &s->watches().advertisers}})
    for (auto id : *ids) ++watched_[{kind, id}];
  sessions_.push_back(s);
  return s;
}

void live_fanout::close(const std::shared_ptr<session>& s) {
  s->close();
  std::unique_lock<std::shared_mutex> lock{mutex_};
  auto it = std::find(sessions_.begin(), sessions_.end(), s);
  if (it == sessions_.end()) return;
  for (auto [kind, ids] : {std::pair{entity::ad, &s->watches().ads}, std::pair{entity::campaign, &s->watches().campaigns},
                           std::pair{entity::advertiser, &s->watches().advertisers}})
    for (auto id : *ids)
      if (auto w = watched_.find({kind, id}); w != watched_.end() && --w->second == 0) watched_.erase(w);
  sessions_.erase(it);
}

void live_fanout::close_all() {
  std::shared_lock<std::shared_mutex> lock{mutex_};
  for (const auto& s : sessions_) s->close();
}

bool live_fanout::watching(entity kind, std::uint64_t id) const {
  std::shared_lock<std::shared_mutex> lock{mutex_};
  return watched_.count({kind, id}) != 0;
}

void live_fanout::deliver(entity kind, std::uint64_t id, const series_point& p) {
  std::shared_lock<std::shared_mutex> lock{mutex_};
  if (watched_.count({kind, id}) == 0) return;
  live_event e{next_seq(), kind, id, p};
  for (const auto& s : sessions_)
    if (s->watches().matches(kind, id)) s->push(e);
}

std::size_t live_fanout::sessions() const {
  std::shared_lock<std::shared_mutex> lock{mutex_};
  return sessions_.size();
}

}  // namespace adclick
