#include "gateway/nats/nats_ingress.hpp"

#include <chrono>
#include <cstdlib>
#include <deque>

#include <caf/all.hpp>
#include <caf/send.hpp>

#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/log_limiter.hpp"
#include "common/time.hpp"
#include "messages/click_codec.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

nats_ingress::nats_ingress(nats_connection& nc, caf::actor partition, std::shared_ptr<ack_cursor> cursor,
                           ingress_config cfg)
  : nc_(nc), partition_(std::move(partition)), cursor_(std::move(cursor)), cfg_(std::move(cfg)) {}

nats_ingress::~nats_ingress() { stop(); }

void nats_ingress::start() { thread_ = std::thread{[this] { run(); }}; }

void nats_ingress::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void nats_ingress::set_halted(std::string why) {
  std::lock_guard<std::mutex> lock{halted_mutex_};
  halted_ = std::move(why);
}

ingress_status nats_ingress::status() const {
  ingress_status s;
  s.partition = cfg_.partition;
  s.running = running_.load(std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock{halted_mutex_};
    s.halted = halted_;
  }
  s.fetched = fetched_.load(std::memory_order_relaxed);
  s.acked = acked_.load(std::memory_order_relaxed);
  s.unacked = unacked_.load(std::memory_order_relaxed);
  s.unacked_bytes = unacked_bytes_.load(std::memory_order_relaxed);
  s.gaps = gaps_.load(std::memory_order_relaxed);
  s.consumer_recreated = recreated_.load(std::memory_order_relaxed);
  s.missing = missing_.load(std::memory_order_relaxed);
  s.markers = markers_.load(std::memory_order_relaxed);
  s.last_forwarded = last_forwarded_.load(std::memory_order_relaxed);
  s.pending = stream_pending_.load(std::memory_order_relaxed);
  return s;
}

/// One run of the ingress thread: the state that lives from one bind to the next, and the
/// steps of the loop. Private to this file.
class nats_ingress::session {
 public:
  explicit session(nats_ingress& in) : in_(in), cfg_(in.cfg_) {}

  void run() {
    // Wait until the partition actor has loaded its durable position.
    while (!in_.stop_ && !in_.cursor_->ready.load(std::memory_order_acquire)) std::this_thread::sleep_for(5ms);
    last_forwarded_ = in_.cursor_->durable_seq.load(std::memory_order_acquire);
    while (!in_.stop_) {
      // Binding asks JetStream (stream info, consumer create): while the connection is down
      // each request would wait out its whole timeout, and a stop with it.
      if (!in_.nc_.connected() || !bind()) {
        in_.running_ = false;
        for (auto until = steady::now() + 500ms; !in_.stop_ && steady::now() < until;) std::this_thread::sleep_for(20ms);
        continue;
      }
      in_.running_ = true;
      pump();
      if (in_.done_) break;
    }
    if (sub_) ack_durable();
    in_.running_ = false;
  }

 private:
  struct unacked {
    std::uint64_t seq;
    std::string reply;
  };
  struct held {
    std::uint64_t seq;
    std::uint64_t bytes;  ///< its decoded clicks, rejects and reply subject
  };

  void note_forwarded(std::uint64_t seq) {
    last_forwarded_ = std::max(last_forwarded_, seq);
    in_.last_forwarded_.store(last_forwarded_, std::memory_order_relaxed);
  }

  /// Makes sure the stream exists and is the partition's, then (re)creates the consumer
  /// to deliver from last_forwarded + 1. False: not bound (try again later).
  bool bind() {
    sub_.reset();
    pending_.clear();  // (what was forwarded stays held until durable: see release_durable)
    in_.unacked_.store(0, std::memory_order_relaxed);
    auto info = in_.nc_.ensure_stream(cfg_.stream);
    if (!info) {
      std::uint64_t held = 0;
      if (bind_log_.allow(now_ms(), held))
        log_error("ingress", "ingress_bind_failed")
          .kv("partition", cfg_.partition)
          .kv("error", describe(info.error()))
          .kv("similar_lines_held_back", held);
      return false;
    }
    const auto counted_in = in_.cursor_->stream_created_ns.load(std::memory_order_acquire);
    if (counted_in != info->created_ns) {
      if (counted_in != 0 && !cfg_.accept_new_stream) {
        auto why = "stream " + cfg_.stream.name + " was recreated (created " + format_time(info->created_ns / 1'000'000) +
                   "; this partition counted in the one created " + format_time(counted_in / 1'000'000) +
                   "): its sequences start again, so the stored position cannot carry over. Restart with "
                   "ingest.accept-new-stream=true to count it from its first message (stored counts stay)";
        std::uint64_t held = 0;
        if (bind_log_.allow(now_ms(), held))
          log_error("ingress", "stream_replaced")
            .kv("partition", cfg_.partition)
            .kv("detail", why)
            .kv("similar_lines_held_back", held);
        in_.set_halted(std::move(why));
        return false;
      }
      // Adopt the stream (a partition that never saw one) or rebase onto the new one. The
      // partition applies it in order with the batches sent before; nothing of the new
      // stream is forwarded or acked until it has.
      log_warn("ingress", counted_in == 0 ? "stream_adopted" : "stream_rebase")
        .kv("partition", cfg_.partition)
        .kv("stream_created_ns", info->created_ns)
        .kv("was", counted_in);
      caf::anon_send(in_.partition_, rebase_atom_v, info->created_ns);
      while (!in_.stop_ && in_.cursor_->stream_created_ns.load(std::memory_order_acquire) != info->created_ns)
        std::this_thread::sleep_for(5ms);
      if (in_.stop_) return false;
      last_forwarded_ = 0;
      missing_counted_until_ = 0;
      held_.clear();  // sequences of the old stream: the next durable checkpoint covers them
      held_bytes_ = 0;
      publish_held();
      in_.last_forwarded_.store(0, std::memory_order_relaxed);
    }
    counted_in_ = info->created_ns;
    in_.set_halted({});
    const auto start = last_forwarded_ + 1;
    if (info->first_seq > start && info->first_seq > missing_counted_until_) {
      // Messages removed (retention, purge) before this partition read them. Sequences
      // are shared by all partitions, so this is an upper bound of this one's losses.
      const auto from = std::max(start, missing_counted_until_);
      in_.missing_.fetch_add(info->first_seq - from, std::memory_order_relaxed);
      missing_counted_until_ = info->first_seq;
      log_warn("ingress", "stream_gap")
        .kv("partition", cfg_.partition)
        .kv("first_missing_seq", from)
        .kv("stream_first_seq", info->first_seq)
        .kv("detail", "messages were removed from the stream before this partition read them");
    }
    consumer_spec spec;
    spec.stream = cfg_.stream.name;
    spec.durable = cfg_.durable;
    spec.filter_subject = cfg_.filter_subject;
    spec.start_seq = start;
    spec.max_ack_pending = cfg_.max_ack_pending;
    spec.ack_wait_ms = cfg_.ack_wait_ms;
    epoch_ = in_.nc_.epoch();
    auto s = in_.nc_.pull_subscribe(spec);
    if (!s) {
      std::uint64_t held = 0;
      if (bind_log_.allow(now_ms(), held))
        log_error("ingress", "ingress_subscribe_failed")
          .kv("partition", cfg_.partition)
          .kv("error", describe(s.error()))
          .kv("similar_lines_held_back", held);
      return false;
    }
    sub_ = std::move(*s);
    last_consumer_seq_ = 0;
    next_health_ = steady::now() + std::chrono::milliseconds(cfg_.health_interval_ms);
    log_info("ingress", "ingress_subscribed").kv("partition", cfg_.partition).kv("start_seq", start);
    return true;
  }

  /// Forgets the bytes of forwarded messages that are durable now. Kept across re-binds
  /// (a re-bind does not take back what the partition holds), dropped on a rebase.
  void release_durable() {
    const auto durable = in_.cursor_->durable_seq.load(std::memory_order_acquire);
    while (!held_.empty() && held_.front().seq <= durable) {
      held_bytes_ -= held_.front().bytes;
      held_.pop_front();
    }
    publish_held();
  }
  void publish_held() { in_.unacked_bytes_.store(held_bytes_, std::memory_order_relaxed); }

  void ack_durable() {
    release_durable();
    const auto durable = in_.cursor_->durable_seq.load(std::memory_order_acquire);
    const auto plan = plan_ack(pending_, durable, [](const unacked& u) { return u.seq; });
    if (plan.prefix == 0) return;
    if (auto err = sub_->ack(pending_[plan.index].reply)) {
      // Not acking only means a redelivery, which the partition skips by sequence.
      log_warn("ingress", "ack_failed").kv("partition", cfg_.partition).kv("error", describe(err));
      return;
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(plan.prefix));
    in_.acked_.fetch_add(plan.prefix, std::memory_order_relaxed);
    in_.unacked_.store(pending_.size(), std::memory_order_relaxed);
  }

  /// Whether the consumer and the stream are still there and still the same. False: re-bind.
  bool healthy() {
    auto stream = in_.nc_.stream_info(cfg_.stream.name);
    if (!stream) {
      if (!is_not_found(stream.error())) return true;  // the broker is away: the client reconnects
      log_warn("ingress", "stream_missing").kv("partition", cfg_.partition);
      return false;
    }
    if (stream->created_ns != counted_in_) return false;
    auto consumer = in_.nc_.consumer_info(cfg_.stream.name, cfg_.durable);
    if (consumer) in_.stream_pending_.store(consumer->num_pending, std::memory_order_relaxed);
    if (!consumer && is_not_found(consumer.error())) {
      in_.recreated_.fetch_add(1, std::memory_order_relaxed);
      log_warn("ingress", "consumer_missing").kv("partition", cfg_.partition).kv("resume_stream_seq", last_forwarded_ + 1);
      return false;
    }
    return true;
  }

  /// Publishes an idle-advance marker if the partition is idle and caught up (see header).
  void maybe_mark_idle() {
    if (cfg_.idle_advance_ms <= 0) return;
    const auto now = steady::now();
    const auto idle = std::chrono::milliseconds(cfg_.idle_advance_ms);
    if (now - last_message_at_ < idle) return;
    if (marker_sent_ && now - marker_sent_at_ < std::max<steady::duration>(idle, 10s)) return;
    if (!marker_pub_) {
      auto p = in_.nc_.make_publisher();
      if (!p) return;
      marker_pub_ = std::move(*p);
    }
    const auto id = "idle:" + std::to_string(cfg_.partition) + ":" +
                    std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    if (auto err = marker_pub_->publish(cfg_.filter_subject, {}, id,
                                        {{idle_advance_header, std::to_string(cfg_.idle_advance_ms)}})) {
      log_warn("ingress", "idle_marker_failed").kv("partition", cfg_.partition).kv("error", describe(err));
      return;
    }
    marker_sent_ = true;
    marker_sent_at_ = now;
    in_.markers_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Reads until a re-bind is needed, a stop is asked for, or stop_at_seq is reached.
  void pump() {
    const auto max_in_flight = static_cast<std::size_t>(cfg_.max_ack_pending);
    // A fetch asks for at least the largest message the server takes, with room for its
    // subject and headers: JetStream never delivers a message larger than a fetch's
    // max_bytes (it answers 409), and the partition would wait for it forever.
    const auto fetch_bytes = std::max<std::int64_t>(cfg_.fetch_max_bytes, in_.nc_.max_payload() + 64 * 1024);
    while (!in_.stop_) {
      ack_durable();
      if (in_.done_ || (cfg_.stop_at_seq != 0 && last_forwarded_ >= cfg_.stop_at_seq)) {
        in_.done_ = true;
        return;
      }
      if (pending_.size() + static_cast<std::size_t>(cfg_.fetch_batch) > max_in_flight ||
          held_bytes_ >= cfg_.max_unacked_bytes) {
        std::this_thread::sleep_for(2ms);  // wait for a checkpoint to free room
        // Still look at the stream now and then: its pending count (the lag operators
        // see) grows exactly while nothing is fetched.
        if (steady::now() >= next_health_) {
          next_health_ = steady::now() + std::chrono::milliseconds(cfg_.health_interval_ms);
          if (!healthy()) return;
        }
        continue;
      }
      ingest_batch batch;
      batch.partition = cfg_.partition;
      bool gap = false, marker_seen = false;
      auto got = sub_->fetch(cfg_.fetch_batch, fetch_bytes, 100, [&](const pull_subscription::message& m) {
        if (gap || in_.done_) return;
        if (cfg_.stop_at_seq != 0 && m.stream_seq > cfg_.stop_at_seq) {
          in_.done_ = true;  // the end of the range: nothing past it is forwarded
          return;
        }
        if (m.consumer_seq != last_consumer_seq_ + 1) {
          // A delivery went missing (e.g. the server cut a slow connection). Forwarding
          // anything after it would let the partition skip the lost message when it is
          // redelivered, and AckAll would ack it: stop here and re-bind instead.
          log_warn("ingress", "delivery_gap")
            .kv("partition", cfg_.partition)
            .kv("expected_consumer_seq", last_consumer_seq_ + 1)
            .kv("got_consumer_seq", m.consumer_seq)
            .kv("resume_stream_seq", last_forwarded_ + 1);
          gap = true;
          return;
        }
        last_consumer_seq_ = m.consumer_seq;
        in_.stream_pending_.store(m.num_pending, std::memory_order_relaxed);
        fetched_message fm;
        fm.stream_seq = m.stream_seq;
        fm.publish_ms = m.timestamp_ns / 1'000'000;
        fm.first_click = static_cast<std::uint32_t>(batch.clicks.size());
        fm.first_reject = static_cast<std::uint32_t>(batch.rejects.size());
        const auto marker = m.data.empty() ? m.header(idle_advance_header) : std::string_view{};
        if (!marker.empty()) {
          fm.idle_advance_ms = std::max<long long>(1, std::atoll(std::string{marker}.c_str()));
          marker_seen = true;
        } else {
          fm.click_count = static_cast<std::uint32_t>(
            decode_click_batch(m.data.data(), m.data.size(), batch.clicks, fm.rejected, &batch.rejects));
          fm.reject_count = static_cast<std::uint32_t>(batch.rejects.size()) - fm.first_reject;
          std::uint64_t held = 0;
          if (fm.reject_count != 0 && reject_log_.allow(now_ms(), held))
            log_warn("ingress", "clicks_rejected")
              .kv("partition", cfg_.partition)
              .kv("stream_seq", m.stream_seq)
              .kv("bytes", m.data.size())
              .kv("malformed", fm.rejected[outcome::rejected_malformed])
              .kv("bad_id", fm.rejected[outcome::rejected_bad_id])
              .kv("similar_lines_held_back", held);
        }
        batch.messages.push_back(fm);
        note_forwarded(m.stream_seq);
        std::uint64_t bytes = (batch.clicks.size() - fm.first_click) * sizeof(click) + m.reply.size() + sizeof(fm);
        for (auto r = batch.rejects.begin() + fm.first_reject; r != batch.rejects.end(); ++r)
          bytes += sizeof(*r) + r->bytes.size();
        pending_.push_back({m.stream_seq, std::string{m.reply}});
        held_.push_back({m.stream_seq, bytes});
        held_bytes_ += bytes;
        batch.bytes += bytes;
      });
      if (!batch.messages.empty()) {
        in_.fetched_.fetch_add(batch.messages.size(), std::memory_order_relaxed);
        in_.unacked_.store(pending_.size(), std::memory_order_relaxed);
        publish_held();
        last_message_at_ = steady::now();
        if (marker_seen) marker_sent_ = false;
        in_.cursor_->batches_sent.fetch_add(1, std::memory_order_relaxed);
        caf::anon_send(in_.partition_, std::move(batch));
      }
      if (in_.done_) return;
      if (!gap && in_.nc_.epoch() != epoch_) {
        // The connection dropped since we subscribed: deliveries may be lost, possibly the
        // last ones, which no later delivery would reveal before AckWait. Re-bind now.
        log_warn("ingress", "connection_interrupted").kv("partition", cfg_.partition).kv("resume_stream_seq", last_forwarded_ + 1);
        gap = true;
      }
      if (gap) {
        in_.gaps_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (!got) {
        std::uint64_t held = 0;
        if (fetch_log_.allow(now_ms(), held))
          log_warn("ingress", "fetch_failed")
            .kv("partition", cfg_.partition)
            .kv("error", describe(got.error()))
            .kv("similar_lines_held_back", held);
        if (!healthy()) return;
        std::this_thread::sleep_for(100ms);  // the client reconnects by itself
        continue;
      }
      if (*got == 0 && in_.nc_.connected()) {
        in_.stream_pending_.store(0, std::memory_order_relaxed);  // a fetch found nothing to deliver
        maybe_mark_idle();
      }
      if (steady::now() >= next_health_) {
        next_health_ = steady::now() + std::chrono::milliseconds(cfg_.health_interval_ms);
        if (!healthy()) return;
      }
    }
  }

  nats_ingress& in_;
  const ingress_config& cfg_;
  std::deque<unacked> pending_;  ///< forwarded, not yet acked, in delivery order
  std::deque<held> held_;        ///< forwarded, not yet durable, in stream order
  std::uint64_t held_bytes_ = 0; ///< their bytes
  std::unique_ptr<pull_subscription> sub_;
  std::unique_ptr<js_publisher> marker_pub_;
  std::uint64_t last_consumer_seq_ = 0;  ///< of the current consumer incarnation
  std::uint64_t epoch_ = 0;              ///< nc.epoch() when subscribed
  /// Highest stream sequence handed to the partition: where a re-bind resumes.
  std::uint64_t last_forwarded_ = 0;
  std::uint64_t missing_counted_until_ = 0;
  std::int64_t counted_in_ = 0;          ///< the stream bound to
  steady::time_point next_health_{};
  steady::time_point last_message_at_ = steady::now();
  bool marker_sent_ = false;
  steady::time_point marker_sent_at_{};
  log_limiter bind_log_{10'000}, fetch_log_{10'000}, reject_log_{1'000};
};

void nats_ingress::run() {
  session s{*this};
  s.run();
}

}  // namespace adclick
