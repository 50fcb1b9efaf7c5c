#include "gateway/nats/nats_ingress.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <deque>

#include <caf/send.hpp>

#include "messages/click_codec.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "messages/type_ids.hpp"
#include "gateway/nats/nats_client.hpp"

namespace adclick {

nats_ingress::nats_ingress(nats_connection& nc, caf::actor partition,
                           std::shared_ptr<ack_cursor> cursor, ingress_config cfg, egress* out)
  : nc_(nc), out_(out), partition_(std::move(partition)), cursor_(std::move(cursor)), cfg_(std::move(cfg)) {}

nats_ingress::~nats_ingress() { stop(); }

void nats_ingress::start() { thread_ = std::thread{[this] { run(); }}; }

void nats_ingress::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void nats_ingress::run() {
  using namespace std::chrono_literals;
  // Wait until the partition actor has loaded its durable position.
  while (!stop_ && !cursor_->ready.load(std::memory_order_acquire)) std::this_thread::sleep_for(5ms);
  if (stop_) return;

  struct unacked {
    std::uint64_t seq;
    std::string reply;
  };
  std::deque<unacked> pending;                 // forwarded, not yet acked, in delivery order
  std::unique_ptr<pull_subscription> sub;
  std::uint64_t last_consumer_seq = 0;         // of the current consumer incarnation
  std::uint64_t epoch = 0;                     // nc_.epoch() when subscribed
  // Highest stream sequence handed to the partition: where a re-sync resumes.
  std::uint64_t last_forwarded = cursor_->durable_seq.load(std::memory_order_acquire);

  // (Re)creates the consumer to deliver from `last_forwarded + 1`. The stored position
  // (at start) or what was forwarded (after a gap), never the broker's ack floor, decides.
  auto subscribe = [&]() -> bool {
    consumer_spec spec;
    spec.stream = cfg_.stream;
    spec.durable = cfg_.durable;
    spec.filter_subject = cfg_.filter_subject;
    spec.start_seq = last_forwarded + 1;
    spec.max_ack_pending = cfg_.max_ack_pending;
    while (!stop_) {
      epoch = nc_.epoch();
      auto s = nc_.pull_subscribe(spec);
      if (s) {
        sub = std::move(*s);
        last_consumer_seq = 0;
        pending.clear();  // ack subjects of the old consumer are void
        unacked_.store(0, std::memory_order_relaxed);
        log_info("ingress_subscribed").kv("partition", cfg_.partition).kv("start_seq", spec.start_seq);
        return true;
      }
      log_error("ingress_subscribe_failed").kv("partition", cfg_.partition).kv("error", describe(s.error()));
      std::this_thread::sleep_for(500ms);
    }
    return false;
  };

  auto ack_durable = [&] {
    const auto durable = cursor_->durable_seq.load(std::memory_order_acquire);
    const auto plan = plan_ack(pending, durable, [](const unacked& u) { return u.seq; });
    if (plan.prefix == 0) return;
    const auto n = plan.prefix;
    if (auto err = sub->ack(pending[plan.index].reply)) {
      // Not acking only means a redelivery, which the partition skips by sequence.
      log_warn("ack_failed").kv("partition", cfg_.partition).kv("error", describe(err));
      return;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    acked_.fetch_add(n, std::memory_order_relaxed);
    unacked_.store(pending.size(), std::memory_order_relaxed);
  };

  if (!subscribe()) return;
  running_ = true;
  const auto max_in_flight = static_cast<std::size_t>(cfg_.max_ack_pending);
  while (!stop_) {
    ack_durable();
    if (pending.size() + static_cast<std::size_t>(cfg_.fetch_batch) > max_in_flight) {
      std::this_thread::sleep_for(2ms);  // wait for a checkpoint to free room
      continue;
    }
    ingest_batch batch;
    batch.partition = cfg_.partition;
    bool gap = false;
    auto got = sub->fetch(cfg_.fetch_batch, cfg_.fetch_max_bytes, 100, [&](const pull_subscription::message& m) {
      if (gap) return;
      if (m.consumer_seq != last_consumer_seq + 1) {
        // A delivery went missing (e.g. the server cut a slow connection). Forwarding
        // anything after it would let the partition skip the lost message when it is
        // redelivered, and AckAll would ack it: stop here and re-sync instead.
        log_warn("delivery_gap")
          .kv("partition", cfg_.partition)
          .kv("expected_consumer_seq", last_consumer_seq + 1)
          .kv("got_consumer_seq", m.consumer_seq)
          .kv("resume_stream_seq", last_forwarded + 1);
        gap = true;
        return;
      }
      last_consumer_seq = m.consumer_seq;
      fetched_message fm;
      fm.stream_seq = m.stream_seq;
      fm.first_click = static_cast<std::uint32_t>(batch.clicks.size());
      fm.click_count = static_cast<std::uint32_t>(
        decode_click_batch(m.data.data(), m.data.size(), batch.clicks, fm.rejected));
      if (fm.rejected.total() != 0 && out_)
        out_->rejected_bytes(m.data,
                             fm.rejected[outcome::rejected_malformed] != 0 ? outcome::rejected_malformed
                                                                           : outcome::rejected_bad_id,
                             fm.rejected.total());
      if (fm.rejected.total() != 0)
        log_warn("clicks_rejected")
          .kv("partition", cfg_.partition)
          .kv("stream_seq", m.stream_seq)
          .kv("bytes", m.data.size())
          .kv("malformed", fm.rejected[outcome::rejected_malformed])
          .kv("bad_id", fm.rejected[outcome::rejected_bad_id]);
      batch.messages.push_back(fm);
      last_forwarded = std::max(last_forwarded, m.stream_seq);
      pending.push_back({m.stream_seq, std::string{m.reply}});
    });
    if (!batch.messages.empty()) {
      fetched_.fetch_add(batch.messages.size(), std::memory_order_relaxed);
      unacked_.store(pending.size(), std::memory_order_relaxed);
      caf::anon_send(partition_, std::move(batch));
    }
    if (!gap && nc_.epoch() != epoch) {
      // The connection dropped since we subscribed: deliveries may be lost, possibly the
      // last ones, which no later delivery would reveal before AckWait. Re-sync now.
      log_warn("connection_interrupted").kv("partition", cfg_.partition).kv("resume_stream_seq", last_forwarded + 1);
      gap = true;
    }
    if (gap) {
      gaps_.fetch_add(1, std::memory_order_relaxed);
      if (!subscribe()) break;
      continue;
    }
    if (!got) {
      log_warn("fetch_failed").kv("partition", cfg_.partition).kv("error", describe(got.error()));
      std::this_thread::sleep_for(100ms);  // the client reconnects by itself
    }
  }
  if (sub) ack_durable();
  running_ = false;
}

}  // namespace adclick
