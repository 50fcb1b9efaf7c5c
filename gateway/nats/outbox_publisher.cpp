#include "gateway/nats/outbox_publisher.hpp"

#include <unistd.h>

#include <algorithm>

#include "common/errc.hpp"
#include "common/fault_switch.hpp"
#include "common/log.hpp"
#include "common/log_limiter.hpp"
#include "common/time.hpp"
#include "gateway/nats/nats_client.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {
/// Rows published in one batch.
constexpr std::size_t batch_rows = 512;
/// How far before the oldest row's creation the start-up check reads: more than any clock
/// skew between this host and the broker's.
constexpr std::int64_t skew_margin_ms = 10 * 60'000;
}  // namespace

caf::expected<std::set<std::string>> published_msg_ids(nats_connection& nc, const std::string& stream,
                                                       std::int64_t since_ns) {
  auto info = nc.stream_info(stream);
  if (!info) return info.error();
  std::set<std::string> ids;
  if (info->messages == 0) return ids;
  consumer_spec spec;
  spec.stream = stream;
  spec.durable = "adclick-outbox-check-" + std::to_string(::getpid());
  spec.start_time_ns = std::max<std::int64_t>(1, since_ns);
  spec.inactive_threshold_ms = 60'000;  // gone by itself if this process dies
  auto sub = nc.pull_subscribe(spec);
  if (!sub) return sub.error();
  // Read until the consumer has nothing left to deliver (nothing at all if the stream got
  // no message since `since_ns`), or until the stream's last sequence at the start.
  auto finish = [&](caf::error err) -> caf::expected<std::set<std::string>> {
    sub->reset();
    nc.delete_consumer(stream, spec.durable);
    if (err) return err;
    return ids;
  };
  std::uint64_t seen = 0;
  for (int round = 0; seen < info->last_seq; ++round) {
    std::string last_reply;
    auto got = (*sub)->fetch(1000, 8 << 20, 250, [&](const pull_subscription::message& m) {
      if (auto id = m.header("Nats-Msg-Id"); !id.empty()) ids.emplace(id);
      seen = std::max(seen, m.stream_seq);
      last_reply.assign(m.reply);
    });
    if (!got) return finish(got.error());
    if (!last_reply.empty()) (*sub)->ack(last_reply);
    if (*got != 0) continue;
    auto left = nc.consumer_info(stream, spec.durable);
    if (!left) return finish(left.error());
    if (left->num_pending == 0 && left->num_ack_pending == 0) break;
    if (round > 10'000) return finish(make_error(errc::timeout, "could not read " + stream));
  }
  return finish({});
}

outbox_publisher::outbox_publisher(nats_connection& nc, store& db, std::vector<std::uint32_t> partitions,
                                   subjects names, std::shared_ptr<fault_switch> faults)
  : nc_(nc), db_(db), partitions_(std::move(partitions)), names_(std::move(names)), faults_(std::move(faults)) {}

outbox_publisher::~outbox_publisher() { stop(); }  // before pub_, which the thread uses

void outbox_publisher::start() { thread_ = std::thread{[this] { run(); }}; }

void outbox_publisher::stop() {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void outbox_publisher::poke() {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    poked_ = true;
  }
  cv_.notify_all();
}

outbox_status outbox_publisher::stats() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return stats_;
}

void outbox_publisher::set_error(std::string text) {
  std::lock_guard<std::mutex> lock{mutex_};
  stats_.last_error = std::move(text);
}

/// Waits for a poke, a stop or the timeout; false once stopping.
bool outbox_publisher::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{mutex_};
  cv_.wait_for(lock, timeout, [this] { return poked_ || stop_; });
  poked_ = false;
  return !stop_;
}

/// The start-up check (see the header): removes rows whose message a stream already has.
bool outbox_publisher::check_published() {
  // Per stream, the earliest time a row's message may have been published: the oldest
  // row's creation, or the first failed checkpoint before it (see check_since_ms).
  std::map<std::string, std::int64_t> oldest;  // stream -> ms
  std::vector<std::pair<std::uint32_t, outbox_message>> rows;
  for (auto p : partitions_) {
    for (std::uint64_t from = 0;;) {
      std::vector<outbox_message> chunk;
      if (auto err = db_.scan_outbox(p, from, 4096, chunk)) {
        set_error(describe(err));
        return false;
      }
      if (chunk.empty()) break;
      from = chunk.back().seq + 1;
      checked_before_[p] = from;
      for (auto& m : chunk) {
        const std::string stream = m.type == outbox_message::kind::dlq ? subjects::dlq_stream : subjects::final_stream;
        const auto since = m.check_since_ms != 0 ? std::min(m.check_since_ms, m.created_ms) : m.created_ms;
        auto [it, fresh] = oldest.try_emplace(stream, since);
        if (!fresh) it->second = std::min(it->second, since);
        rows.emplace_back(p, std::move(m));
      }
    }
  }
  std::map<std::string, std::set<std::string>> known;
  for (const auto& [stream, created_ms] : oldest) {
    auto ids = published_msg_ids(nc_, stream, (created_ms - skew_margin_ms) * 1'000'000);
    if (!ids && !is_not_found(ids.error())) {
      set_error(describe(ids.error()));
      return false;
    }
    if (ids) known[stream] = std::move(*ids);
  }
  store::batch done;
  std::uint64_t skipped = 0;
  for (const auto& [p, m] : rows) {
    const std::string stream = m.type == outbox_message::kind::dlq ? subjects::dlq_stream : subjects::final_stream;
    if (known[stream].count(m.msg_id) == 0) continue;
    done.delete_outbox(p, m.seq);
    ++skipped;
  }
  if (!done.empty())
    if (auto err = db_.write_unsynced(done)) {
      set_error(describe(err));
      return false;
    }
  log_info("outbox", "outbox_checked").kv("rows", static_cast<std::uint64_t>(rows.size())).kv("already_published", skipped);
  std::lock_guard<std::mutex> lock{mutex_};
  stats_.skipped += skipped;
  stats_.scanned = true;
  return true;
}

/// Publishes the next batch of `partition`'s rows, removing each row its stream has
/// acknowledged. False if any failed (they are published again later; those that may have
/// been stored without an acknowledgement are checked against the stream first).
bool outbox_publisher::publish_partition(std::uint32_t partition) {
  std::vector<outbox_message> rows;
  auto& next = next_seq_[partition];
  if (auto err = db_.scan_outbox(partition, next, batch_rows, rows)) {
    set_error(describe(err));
    return false;
  }
  if (rows.empty()) return true;
  for (const auto& m : rows)
    if (m.check_since_ms != 0 && m.seq >= checked_before_[partition]) {
      // Rows of a checkpoint that followed failed ones: check the streams first.
      recheck_ = true;
      check_first_ = true;
      return false;
    }
  if (!pub_) {
    auto pub = nc_.make_publisher(false, 5000);
    if (!pub) {
      set_error(describe(pub.error()));
      return false;
    }
    pub_ = std::move(*pub);
  }
  std::size_t sent = 0;
  caf::error err;
  for (const auto& m : rows) {
    nats_headers headers;
    if (!m.reason.empty()) headers.emplace_back("Adclick-Reason", m.reason);
    if (m.original_bytes != 0) headers.emplace_back("Adclick-Truncated-From", std::to_string(m.original_bytes));
    if ((err = pub_->publish(m.subject, m.payload, m.msg_id, headers))) break;
    ++sent;
  }
  auto settled = pub_->settle(10'000);
  if (!err && !settled) err = settled.error();
  if (!settled) {
    // Some acknowledgements are still out: any of these may be stored. Nothing is
    // removed; the check before the next attempt removes what the stream has.
    recheck_ = true;
    set_error(describe(err));
    std::lock_guard<std::mutex> lock{mutex_};
    ++stats_.failures;
    return false;
  }
  std::set<std::string> failed;
  for (auto& f : pub_->take_failures()) {
    recheck_ = recheck_ || f.maybe_stored;
    failed.insert(std::move(f.msg_id));
  }
  // Every row published and not failed is acknowledged: remove it now, so that a retry
  // of the others never publishes it again.
  store::batch done;
  std::uint64_t first_left = rows.back().seq + 1;
  std::size_t published = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i >= sent || failed.count(rows[i].msg_id) != 0) {
      first_left = std::min(first_left, rows[i].seq);
      continue;
    }
    done.delete_outbox(partition, rows[i].seq);
    ++published;
  }
  next = first_left;
  const bool keep = faults_ && faults_->active("outbox-keep");  // published, left in the outbox
  if (keep && first_left > rows.back().seq) next = rows.back().seq + 1;
  // Unsynced: a removal lost in an OS crash only means a republish, which the stream or
  // the start-up check drops.
  if (!keep && !done.empty())
    if (auto werr = db_.write_unsynced(done)) set_error(describe(werr));
  std::lock_guard<std::mutex> lock{mutex_};
  stats_.published += published;
  if (first_left <= rows.back().seq) {
    ++stats_.failures;
    stats_.last_error = std::to_string(rows.size() - published) + " of " + std::to_string(rows.size()) +
                        " publishes were refused or not acknowledged" + (err ? ": " + describe(err) : std::string{});
    return false;
  }
  return true;
}

void outbox_publisher::run() {
  log_limiter failure_log{10'000};
  auto pause = std::chrono::milliseconds(100);
  auto fail = [&](const char* what) {
    std::uint64_t held = 0;
    if (failure_log.allow(now_ms(), held))
      log_warn("outbox", what).kv("error", stats().last_error).kv("similar_lines_held_back", held);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(5));
  };
  // The streams may be gone (a broker back with a fresh store): they are created again.
  auto ensure_streams = [&] {
    for (const auto& spec : {finals_stream_spec(names_), dlq_stream_spec(names_)})
      if (auto info = nc_.ensure_stream(spec); !info) set_error(describe(info.error()));
  };
  while (!check_published()) {
    fail("outbox_check_failed");
    if (!wait(pause)) return;
  }
  pause = std::chrono::milliseconds(100);
  while (wait(std::chrono::milliseconds(200))) {
    if (faults_ && faults_->active("outbox-hold")) continue;
    if (recheck_) {
      // Publishes that may have been stored without an acknowledgement: remove what the
      // streams have before publishing the rest again (beyond the duplicate window, the
      // streams would store them twice).
      if (!check_published()) {
        fail("outbox_check_failed");
        if (!wait(pause)) return;
        continue;
      }
      recheck_ = false;
      for (auto& [p, next] : next_seq_) next = 0;
    }
    bool ok = true;
    for (auto p : partitions_) {
      // Drain the partition before the next one, as long as batches succeed.
      std::uint64_t before = 0;
      do {
        before = next_seq_[p];
        ok = publish_partition(p);
      } while (ok && next_seq_[p] != before);
      if (!ok) break;
    }
    if (ok) {
      pause = std::chrono::milliseconds(100);
      continue;
    }
    if (check_first_) {  // not a failure: the check comes first, in the next round
      check_first_ = false;
      continue;
    }
    fail("outbox_publish_failed");
    ensure_streams();
    if (!wait(pause)) return;
  }
}

}  // namespace adclick
