#include <caf/all.hpp>

#include "nats_ingress.hpp"

#include <chrono>
#include <deque>

#include <caf/send.hpp>

#include "adclick/click_codec.hpp"
#include "adclick/errc.hpp"
#include "adclick/log.hpp"
#include "adclick/type_ids.hpp"
#include "nats_client.hpp"

namespace adclick {

nats_ingress::nats_ingress(nats_connection& nc, caf::actor partition,
                           std::shared_ptr<ack_cursor> cursor, ingress_config cfg)
  : nc_(nc), partition_(std::move(partition)), cursor_(std::move(cursor)), cfg_(std::move(cfg)) {}

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

  consumer_spec spec;
  spec.stream = cfg_.stream;
  spec.durable = cfg_.durable;
  spec.filter_subject = cfg_.filter_subject;
  spec.start_seq = cursor_->durable_seq.load(std::memory_order_acquire) + 1;
  spec.max_ack_pending = cfg_.max_ack_pending;
  std::unique_ptr<pull_subscription> sub;
  while (!stop_) {
    auto s = nc_.pull_subscribe(spec);
    if (s) {
      sub = std::move(*s);
      break;
    }
    log_error("ingress_subscribe_failed").kv("partition", cfg_.partition).kv("error", describe(s.error()));
    std::this_thread::sleep_for(500ms);
  }
  if (!sub) return;
  running_ = true;
  log_info("ingress_started").kv("partition", cfg_.partition).kv("start_seq", spec.start_seq);

  struct unacked {
    std::uint64_t seq;
    std::string reply;
  };
  std::deque<unacked> pending;
  const auto max_in_flight = static_cast<std::size_t>(cfg_.max_ack_pending);

  auto ack_durable = [&] {
    const auto durable = cursor_->durable_seq.load(std::memory_order_acquire);
    const std::string* last = nullptr;
    std::size_t n = 0;
    while (n < pending.size() && pending[n].seq <= durable) last = &pending[n++].reply;
    if (last == nullptr) return;
    if (auto err = sub->ack(*last)) {
      // Not acking only means a redelivery, which the partition skips by sequence.
      log_warn("ack_failed").kv("partition", cfg_.partition).kv("error", describe(err));
      return;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    acked_.fetch_add(n, std::memory_order_relaxed);
  };

  while (!stop_) {
    ack_durable();
    if (pending.size() + static_cast<std::size_t>(cfg_.fetch_batch) > max_in_flight) {
      std::this_thread::sleep_for(2ms);  // wait for a checkpoint to free room
      continue;
    }
    ingest_batch batch;
    batch.partition = cfg_.partition;
    auto got = sub->fetch(cfg_.fetch_batch, 100, [&](const pull_subscription::message& m) {
      fetched_message fm;
      fm.stream_seq = m.stream_seq;
      fm.first_click = static_cast<std::uint32_t>(batch.clicks.size());
      fm.click_count = static_cast<std::uint32_t>(
        decode_click_batch(m.data.data(), m.data.size(), batch.clicks, fm.rejected));
      if (fm.rejected.total() != 0)
        log_warn("clicks_rejected")
          .kv("partition", cfg_.partition)
          .kv("stream_seq", m.stream_seq)
          .kv("bytes", m.data.size())
          .kv("malformed", fm.rejected[outcome::rejected_malformed])
          .kv("bad_id", fm.rejected[outcome::rejected_bad_id]);
      batch.messages.push_back(fm);
      pending.push_back({m.stream_seq, std::string{m.reply}});
    });
    if (!got) {
      log_warn("fetch_failed").kv("partition", cfg_.partition).kv("error", describe(got.error()));
      std::this_thread::sleep_for(100ms);  // the client reconnects by itself
      continue;
    }
    if (batch.messages.empty()) continue;
    fetched_.fetch_add(batch.messages.size(), std::memory_order_relaxed);
    caf::anon_send(partition_, std::move(batch));
  }
  ack_durable();
  running_ = false;
}

}  // namespace adclick
