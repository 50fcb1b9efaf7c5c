#include "gateway/nats/nats_client.hpp"

#include <algorithm>
#include <climits>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <nats/nats.h>

#include "common/errc.hpp"

namespace adclick {

namespace {

/// The one place natsStatus becomes our error.
caf::error to_error(natsStatus s, const std::string& what, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  if (s == NATS_OK) return {};
  std::string text = what + ": " + natsStatus_GetText(s);
  natsStatus ignored;
  if (const char* last = nats_GetLastError(&ignored); last != nullptr && *last != '\0') {
    text += " (";
    text += last;
    text += ")";
  }
  if (jerr != 0) text += " [jetstream error " + std::to_string(static_cast<int>(jerr)) + "]";
  const bool missing = s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr || jerr == JSConsumerNotFoundErr;
  return make_error(missing ? errc::not_found : errc::nats, std::move(text));
}

struct options_deleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};
struct stream_info_deleter {
  void operator()(jsStreamInfo* s) const { jsStreamInfo_Destroy(s); }
};
struct consumer_info_deleter {
  void operator()(jsConsumerInfo* c) const { jsConsumerInfo_Destroy(c); }
};
struct msg_deleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};

stream_state state_of(const jsStreamInfo& info) {
  return {info.Created, info.State.FirstSeq, info.State.LastSeq, info.State.Msgs};
}

/// Subscriptions unsubscribed while their connection was down, not yet freed (see
/// release_subscription), per connection.
std::mutex parked_mutex;
std::multimap<natsConnection*, natsSubscription*> parked;

/// Takes the parked subscriptions of `nc` out of the list.
std::vector<natsSubscription*> take_parked(natsConnection* nc) {
  std::vector<natsSubscription*> subs;
  std::lock_guard<std::mutex> lock{parked_mutex};
  auto [from, to] = parked.equal_range(nc);
  for (auto it = from; it != to; ++it) subs.push_back(it->second);
  parked.erase(from, to);
  return subs;
}
void destroy(const std::vector<natsSubscription*>& subs) {
  for (auto* sub : subs) natsSubscription_Destroy(sub);
}
/// Gives back subscriptions taken out of the list whose flush did not come back.
void repark(natsConnection* nc, const std::vector<natsSubscription*>& subs) {
  std::lock_guard<std::mutex> lock{parked_mutex};
  for (auto* sub : subs) parked.emplace(nc, sub);
}

/// Frees a subscription without racing the connection's read loop. nats.c 3.4 (Debian 12)
/// looks an inbound message's subscription up, unlocks its table, copies the message and
/// only then locks the subscription, which by then may have been freed (nats.c #637, fixed
/// in 3.6: heap corruption, a crash in pthread_mutex_trylock). Unsubscribing takes it out
/// of the table; a flush round trip then shows that the read loop, which handles the PONG
/// after every message it read before, is past any lookup made before that. A flush that
/// fails took its whole timeout, far longer than a message copy: freeing is safe then too.
/// While the connection is not up the flush cannot be answered and would wait its whole
/// timeout (a stop during a broker outage took 45 s for 16 partitions), and the read loop
/// may still be parsing its last buffer (a ping timeout on another thread can announce the
/// outage first): the subscription is parked. The next release on that connection frees
/// the ones parked before its flush started, if the flush came back; the rest go when the
/// connection closes (its read loop joined).
void release_subscription(natsConnection* nc, natsSubscription* sub) {
  if (!sub) return;
  natsSubscription_Unsubscribe(sub);  // an error means closed already: nothing to wait for
  if (nc && natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED && !natsConnection_IsClosed(nc)) {
    std::lock_guard<std::mutex> lock{parked_mutex};
    parked.emplace(nc, sub);
    return;
  }
  const auto before = nc ? take_parked(nc) : std::vector<natsSubscription*>{};
  const bool answered = nc && natsConnection_FlushTimeout(nc, 2000) == NATS_OK;
  natsSubscription_Destroy(sub);
  if (answered) destroy(before);
  else if (nc) repark(nc, before);
}

}  // namespace

stream_spec clicks_stream_spec(const subjects& names, std::uint32_t partitions) {
  stream_spec s;
  s.name = subjects::clicks_stream;
  s.subjects = names.all_clicks();
  s.description = "adclick clicks; partitions=" + std::to_string(partitions);
  s.must_match = true;
  return s;
}

stream_spec finals_stream_spec(const subjects& names) {
  stream_spec s;
  s.name = subjects::final_stream;
  s.subjects = names.all_finals();
  s.description = "adclick final and amended counts (FinalCount), for billing";
  s.max_age_ms = 30LL * 24 * 3600 * 1000;
  return s;
}

stream_spec dlq_stream_spec(const subjects& names) {
  stream_spec s;
  s.name = subjects::dlq_stream;
  s.subjects = names.dlq();
  s.description = "adclick rejected clicks, header Adclick-Reason";
  return s;
}

bool is_not_found(const caf::error& err) {
  return err && err.category() == caf::atom("adclick") && err.code() == static_cast<std::uint8_t>(errc::not_found);
}

struct nats_connection::impl {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::atomic<std::uint64_t> async_failures{0};
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> reconnects{0};
  // nats.c runs connection callbacks on its own thread, after the call that causes them
  // returns: this object (their closure) must live until the last one, `closed`, has run.
  std::mutex mutex;
  std::condition_variable cv;
  bool closed = false;
  bool closing = false;

  ~impl() {
    if (js) jsCtx_Destroy(js);
    if (!nc) return;
    {
      std::lock_guard<std::mutex> lock{mutex};
      closing = true;
    }
    natsConnection_FlushTimeout(nc, 2000);
    natsConnection_Close(nc);  // queues the disconnected and closed callbacks
    {
      std::unique_lock<std::mutex> lock{mutex};
      cv.wait_for(lock, std::chrono::seconds(10), [this] { return closed; });
    }
    destroy(take_parked(nc));  // closed: no read loop left
    natsConnection_Destroy(nc);
  }
};

namespace {
void on_publish_error(jsCtx*, jsPubAckErr*, void* closure) {
  static_cast<std::atomic<std::uint64_t>*>(closure)->fetch_add(1, std::memory_order_relaxed);
}
// Deliveries in flight can be lost only when the connection drops or the client drops
// messages for a slow subscription: both move the epoch.
void on_disconnected(natsConnection*, void* closure) {
  auto* p = static_cast<nats_connection::impl*>(closure);
  p->epoch.fetch_add(1, std::memory_order_acq_rel);
  // Close() also reports a disconnect: only count losses of a live connection.
  std::lock_guard<std::mutex> lock{p->mutex};
  if (!p->closing) p->disconnects.fetch_add(1, std::memory_order_relaxed);
}
void on_reconnected(natsConnection*, void* closure) {
  static_cast<nats_connection::impl*>(closure)->reconnects.fetch_add(1, std::memory_order_relaxed);
}
void on_async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
  if (err == NATS_SLOW_CONSUMER)
    static_cast<nats_connection::impl*>(closure)->epoch.fetch_add(1, std::memory_order_acq_rel);
}
void on_closed(natsConnection*, void* closure) {
  auto* p = static_cast<nats_connection::impl*>(closure);
  std::lock_guard<std::mutex> lock{p->mutex};
  p->closed = true;
  p->cv.notify_all();
}
}  // namespace

nats_connection::nats_connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
nats_connection::~nats_connection() = default;

caf::expected<std::unique_ptr<nats_connection>> nats_connection::connect(const std::string& url,
                                                                         const std::string& name,
                                                                         const std::string& token) {
  natsOptions* raw = nullptr;
  if (auto err = to_error(natsOptions_Create(&raw), "natsOptions_Create")) return err;
  std::unique_ptr<natsOptions, options_deleter> opts{raw};
  natsStatus s = natsOptions_SetURL(raw, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(raw, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(raw, -1);  // forever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(raw, 250);
  // A stalled server is noticed within seconds, not the default two minutes: deliveries
  // in flight then count as lost and the ingress re-syncs.
  if (s == NATS_OK) s = natsOptions_SetPingInterval(raw, 5000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(raw, 2);
  if (s == NATS_OK && !token.empty()) s = natsOptions_SetToken(raw, token.c_str());
  if (auto err = to_error(s, "NATS options")) return err;

  auto p = std::make_unique<impl>();
  s = natsOptions_SetDisconnectedCB(raw, on_disconnected, p.get());
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(raw, on_async_error, p.get());
  if (s == NATS_OK) s = natsOptions_SetClosedCB(raw, on_closed, p.get());
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(raw, on_reconnected, p.get());
  if (auto err = to_error(s, "NATS callbacks")) return err;
  if (auto err = to_error(natsConnection_Connect(&p->nc, raw), "cannot connect to " + url)) return err;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 10000;
  jo.PublishAsync.MaxPending = 256;
  jo.PublishAsync.ErrHandler = on_publish_error;
  jo.PublishAsync.ErrHandlerClosure = &p->async_failures;
  if (auto err = to_error(natsConnection_JetStream(&p->js, p->nc, &jo), "JetStream context")) return err;
  return std::unique_ptr<nats_connection>{new nats_connection(std::move(p))};
}

caf::expected<stream_state> nats_connection::stream_info(const std::string& name) {
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, impl_->js, name.c_str(), nullptr, &jerr);
  std::unique_ptr<jsStreamInfo, stream_info_deleter> info{raw};
  if (auto err = to_error(s, "stream info " + name, jerr)) return err;
  return state_of(*info);
}

caf::expected<stream_state> nats_connection::ensure_stream(const stream_spec& spec) {
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, impl_->js, spec.name.c_str(), nullptr, &jerr);
  std::unique_ptr<jsStreamInfo, stream_info_deleter> info{raw};
  if (s == NATS_OK) {
    const char* desc = info->Config->Description ? info->Config->Description : "";
    if (spec.must_match && spec.description != desc)
      return make_error(errc::format_mismatch,
                        "stream " + spec.name + " says '" + desc + "' but this service has '" + spec.description +
                          "': partitions.count must match the stream it was created with");
    return state_of(*info);
  }
  if (s != NATS_NOT_FOUND) return to_error(s, "stream info " + spec.name, jerr);

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  cfg.Description = spec.description.c_str();
  const char* subjects[] = {spec.subjects.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.MaxAge = spec.max_age_ms * 1'000'000;          // nanoseconds
  cfg.Duplicates = spec.duplicate_window_ms * 1'000'000;
  raw = nullptr;
  s = js_AddStream(&raw, impl_->js, &cfg, nullptr, &jerr);
  info.reset(raw);
  if (s != NATS_OK && jerr == JSStreamNameExistErr) return stream_info(spec.name);  // created meanwhile
  if (auto err = to_error(s, "cannot create stream " + spec.name, jerr)) return err;
  return state_of(*info);
}

caf::error nats_connection::delete_stream(const std::string& name) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return to_error(js_DeleteStream(impl_->js, name.c_str(), nullptr, &jerr), "delete stream " + name, jerr);
}

caf::error nats_connection::purge_stream(const std::string& name) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return to_error(js_PurgeStream(impl_->js, name.c_str(), nullptr, &jerr), "purge stream " + name, jerr);
}

caf::error nats_connection::delete_consumer(const std::string& stream, const std::string& durable) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  return to_error(js_DeleteConsumer(impl_->js, stream.c_str(), durable.c_str(), nullptr, &jerr),
                  "delete consumer " + durable, jerr);
}

caf::error nats_connection::reset_consumer(const consumer_spec& spec) {
  if (auto err = delete_consumer(spec.stream, spec.durable); err && !is_not_found(err)) return err;
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = spec.durable.c_str();
  cc.FilterSubject = spec.filter_subject.empty() ? nullptr : spec.filter_subject.c_str();
  cc.AckPolicy = js_AckAll;
  cc.AckWait = spec.ack_wait_ms * 1'000'000;
  cc.MaxAckPending = spec.max_ack_pending;
  cc.MaxDeliver = -1;
  if (spec.inactive_threshold_ms > 0) cc.InactiveThreshold = spec.inactive_threshold_ms * 1'000'000;
  if (spec.start_time_ns > 0) {
    cc.DeliverPolicy = js_DeliverByStartTime;
    cc.OptStartTime = spec.start_time_ns;
  } else if (spec.start_seq > 1) {
    cc.DeliverPolicy = js_DeliverByStartSequence;
    cc.OptStartSeq = spec.start_seq;
  } else {
    cc.DeliverPolicy = js_DeliverAll;
  }
  jsConsumerInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddConsumer(&raw, impl_->js, spec.stream.c_str(), &cc, nullptr, &jerr);
  std::unique_ptr<jsConsumerInfo, consumer_info_deleter> info{raw};
  return to_error(s, "cannot create consumer " + spec.durable, jerr);
}

caf::expected<consumer_state> nats_connection::consumer_info(const std::string& stream,
                                                             const std::string& durable) {
  jsConsumerInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetConsumerInfo(&raw, impl_->js, stream.c_str(), durable.c_str(), nullptr, &jerr);
  std::unique_ptr<jsConsumerInfo, consumer_info_deleter> info{raw};
  if (auto err = to_error(s, "consumer info " + durable, jerr)) return err;
  return consumer_state{info->NumPending, info->NumAckPending, info->AckFloor.Stream};
}

caf::error nats_connection::publish_async(const std::string& subject, std::string_view data,
                                          const std::string& msg_id) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  for (;;) {
    natsStatus s = js_PublishAsync(impl_->js, subject.c_str(), data.data(),
                                   static_cast<int>(data.size()), &po);
    if (s == NATS_OK) return {};
    if (s != NATS_TIMEOUT) return to_error(s, "publish to " + subject);
    // Too many in flight: the library waited StallWait; try again.
  }
}

caf::error nats_connection::publish_async_complete(std::int64_t timeout_ms) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout_ms;
  return to_error(js_PublishAsyncComplete(impl_->js, &po), "waiting for publish acks");
}

std::uint64_t nats_connection::epoch() const { return impl_->epoch.load(std::memory_order_acquire); }

std::uint64_t nats_connection::disconnects() const { return impl_->disconnects.load(std::memory_order_relaxed); }
std::uint64_t nats_connection::reconnects() const { return impl_->reconnects.load(std::memory_order_relaxed); }

bool nats_connection::connected() const { return natsConnection_Status(impl_->nc) == NATS_CONN_STATUS_CONNECTED; }

std::int64_t nats_connection::max_payload() const { return natsConnection_GetMaxPayload(impl_->nc); }

std::uint64_t nats_connection::publish_async_failures() const {
  return impl_->async_failures.load(std::memory_order_relaxed);
}

namespace {
/// A message with headers, owned.
caf::expected<std::unique_ptr<natsMsg, msg_deleter>> make_msg(const std::string& subject, std::string_view data,
                                                              const nats_headers& headers) {
  natsMsg* m = nullptr;
  natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  std::unique_ptr<natsMsg, msg_deleter> owned{m};
  for (const auto& [key, value] : headers)
    if (s == NATS_OK) s = natsMsgHeader_Set(m, key.c_str(), value.c_str());
  if (auto err = to_error(s, "message for " + subject)) return err;
  return owned;
}
}  // namespace

caf::error nats_connection::flush(std::int64_t timeout_ms) {
  return to_error(natsConnection_FlushTimeout(impl_->nc, timeout_ms), "flush");
}

// -- js_publisher ---------------------------------------------------------------------------

struct js_publisher::impl {
  jsCtx* js = nullptr;
  bool resend = false;
  std::int64_t ack_timeout_ms = 5000;
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> resent{0};
  /// Messages whose publish failed, taken from the library to be sent again by the
  /// owner's thread (resend mode): a resend from nats.c's callback thread could spin.
  std::mutex mutex;
  std::vector<natsMsg*> to_resend;
  std::vector<js_publisher::failure> failures;

  ~impl() {
    for (auto* m : to_resend) natsMsg_Destroy(m);
    if (js) jsCtx_Destroy(js);
  }

  caf::error send(natsMsg** m) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = ack_timeout_ms;
    for (;;) {
      natsStatus s = js_PublishMsgAsync(js, m, &po);
      if (s == NATS_OK) return {};
      if (s != NATS_TIMEOUT) return to_error(s, "publish");
      // Too many in flight: the library waited StallWait; try again.
    }
  }

  void resend_failed() {
    std::vector<natsMsg*> msgs;
    {
      std::lock_guard<std::mutex> lock{mutex};
      msgs.swap(to_resend);
    }
    for (auto* m : msgs) {
      resent.fetch_add(1, std::memory_order_relaxed);
      if (send(&m)) failed.fetch_add(1, std::memory_order_relaxed);
      natsMsg_Destroy(m);  // no effect once the library took it
    }
  }
};

namespace {
void on_publisher_error(jsCtx*, jsPubAckErr* pae, void* closure) {
  auto* p = static_cast<js_publisher::impl*>(closure);
  std::lock_guard<std::mutex> lock{p->mutex};
  if (p->resend && pae->Msg != nullptr) {
    p->to_resend.push_back(pae->Msg);
    pae->Msg = nullptr;  // ours now (see _handleAsyncReply)
    return;
  }
  p->failed.fetch_add(1, std::memory_order_relaxed);
  js_publisher::failure f;
  const char* id = nullptr;
  if (pae->Msg != nullptr && natsMsgHeader_Get(pae->Msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) f.msg_id = id;
  // A refusal is an answer from the stream; no answer (a timeout) leaves it open.
  f.maybe_stored = pae->Err == NATS_TIMEOUT || pae->Err == NATS_CONNECTION_CLOSED;
  p->failures.push_back(std::move(f));
}
}  // namespace

js_publisher::js_publisher(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
js_publisher::~js_publisher() = default;

caf::expected<std::unique_ptr<js_publisher>> nats_connection::make_publisher(bool resend, std::int64_t ack_timeout_ms) {
  auto p = std::make_unique<js_publisher::impl>();
  p->resend = resend;
  p->ack_timeout_ms = ack_timeout_ms;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 10000;
  jo.PublishAsync.MaxPending = 1024;
  jo.PublishAsync.ErrHandler = on_publisher_error;
  jo.PublishAsync.ErrHandlerClosure = p.get();
  if (auto err = to_error(natsConnection_JetStream(&p->js, impl_->nc, &jo), "JetStream context")) return err;
  return std::unique_ptr<js_publisher>{new js_publisher(std::move(p))};
}

caf::error js_publisher::publish(const std::string& subject, std::string_view data, const std::string& msg_id,
                                 const nats_headers& headers) {
  impl_->resend_failed();
  auto m = make_msg(subject, data, headers);
  if (!m) return m.error();
  if (!msg_id.empty())
    if (auto err = to_error(natsMsgHeader_Set(m->get(), "Nats-Msg-Id", msg_id.c_str()), "Nats-Msg-Id")) return err;
  natsMsg* raw = m->release();
  auto err = impl_->send(&raw);
  natsMsg_Destroy(raw);  // no effect once the library took it
  return err;
}

caf::expected<std::uint64_t> js_publisher::settle(std::int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    impl_->resend_failed();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = std::max<std::int64_t>(1, left.count());
    natsStatus s = js_PublishAsyncComplete(impl_->js, &po);
    bool more = false;
    {
      std::lock_guard<std::mutex> lock{impl_->mutex};
      more = !impl_->to_resend.empty();
    }
    if (s == NATS_OK && !more) return impl_->failed.exchange(0);
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(errc::timeout, "publishes not acknowledged within " + std::to_string(timeout_ms) + " ms");
    if (s != NATS_OK && s != NATS_TIMEOUT) return to_error(s, "waiting for publish acks");
    if (more) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // pace resends
  }
}

std::uint64_t js_publisher::resent() const { return impl_->resent.load(std::memory_order_relaxed); }

caf::expected<std::int64_t> js_publisher::stored_time_ms(const std::string& stream, const std::string& subject,
                                                         const std::string& msg_id) {
  natsMsg* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetLastMsg(&raw, impl_->js, stream.c_str(), subject.c_str(), nullptr, &code);
  if (auto err = to_error(s, "reading the last message on " + subject, code)) return err;
  std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> m{raw, natsMsg_Destroy};
  const char* id = nullptr;
  if (natsMsgHeader_Get(m.get(), "Nats-Msg-Id", &id) != NATS_OK || id == nullptr || msg_id != id)
    return make_error(errc::nats, "the last message on " + subject + " is not " + msg_id);
  return natsMsg_GetTime(m.get()) / 1'000'000;
}

std::vector<js_publisher::failure> js_publisher::take_failures() {
  std::lock_guard<std::mutex> lock{impl_->mutex};
  std::vector<failure> out;
  out.swap(impl_->failures);
  return out;
}

// -- core_subscription ----------------------------------------------------------------------

struct core_subscription::impl {
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  ~impl() { release_subscription(nc, sub); }
};

core_subscription::core_subscription(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
core_subscription::~core_subscription() = default;

caf::expected<std::unique_ptr<core_subscription>> nats_connection::subscribe(const std::string& subject) {
  auto p = std::make_unique<core_subscription::impl>();
  p->nc = impl_->nc;
  if (auto err = to_error(natsConnection_SubscribeSync(&p->sub, impl_->nc, subject.c_str()), "subscribe " + subject))
    return err;
  if (auto err = to_error(natsConnection_FlushTimeout(impl_->nc, 2000), "flush")) return err;
  return std::unique_ptr<core_subscription>{new core_subscription(std::move(p))};
}

namespace {
core_message to_core_message(natsMsg* m) {
  core_message out;
  out.subject = natsMsg_GetSubject(m);
  if (const char* reply = natsMsg_GetReply(m)) out.reply = reply;
  out.data.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(m, &keys, &count) == NATS_OK) {
    for (int i = 0; i < count; ++i) {
      const char* value = nullptr;
      if (natsMsgHeader_Get(m, keys[i], &value) == NATS_OK) out.headers.emplace_back(keys[i], value ? value : "");
    }
    free(keys);
  }
  return out;
}
}  // namespace

// -- callback_subscription --------------------------------------------------------------------

struct callback_subscription::impl {
  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  std::function<void(core_message&&)> on_message;
  // nats.c may still be inside on_message after Unsubscribe returns: the closure lives
  // until its completion callback says no more calls come.
  std::mutex mutex;
  std::condition_variable cv;
  bool complete = false;
  ~impl() {
    if (!sub) return;
    if (natsSubscription_Unsubscribe(sub) == NATS_OK) {
      std::unique_lock<std::mutex> lock{mutex};
      // Longer than any callback runs (a query waits at most 10 s for the gateway).
      cv.wait_for(lock, std::chrono::seconds(60), [this] { return complete; });
    }
    release_subscription(nc, sub);
  }
};

namespace {
void on_callback_message(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
  auto* p = static_cast<callback_subscription::impl*>(closure);
  auto msg = to_core_message(m);
  natsMsg_Destroy(m);
  p->on_message(std::move(msg));
}
void on_callback_complete(void* closure) {
  auto* p = static_cast<callback_subscription::impl*>(closure);
  std::lock_guard<std::mutex> lock{p->mutex};
  p->complete = true;
  p->cv.notify_all();
}
}  // namespace

callback_subscription::callback_subscription(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
callback_subscription::~callback_subscription() = default;

caf::expected<std::unique_ptr<callback_subscription>> nats_connection::subscribe(
  const std::string& subject, std::function<void(core_message&&)> on_message) {
  auto p = std::make_unique<callback_subscription::impl>();
  p->nc = impl_->nc;
  p->on_message = std::move(on_message);
  if (auto err = to_error(natsConnection_Subscribe(&p->sub, impl_->nc, subject.c_str(), on_callback_message, p.get()),
                          "subscribe " + subject))
    return err;
  if (auto err = to_error(natsSubscription_SetOnCompleteCB(p->sub, on_callback_complete, p.get()), "subscribe " + subject))
    return err;
  if (auto err = to_error(natsConnection_FlushTimeout(impl_->nc, 2000), "flush")) return err;
  return std::unique_ptr<callback_subscription>{new callback_subscription(std::move(p))};
}

caf::error nats_connection::publish(const std::string& subject, const std::string& data) {
  return to_error(natsConnection_Publish(impl_->nc, subject.c_str(), data.data(), static_cast<int>(data.size())),
                  "publish " + subject);
}

caf::expected<std::string> nats_connection::request(const std::string& subject, const std::string& data,
                                                    std::int64_t timeout_ms) {
  natsMsg* reply = nullptr;
  if (auto err = to_error(natsConnection_Request(&reply, impl_->nc, subject.c_str(), data.data(),
                                                 static_cast<int>(data.size()), timeout_ms),
                          "request " + subject))
    return err;
  std::string out{natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))};
  natsMsg_Destroy(reply);
  return out;
}

std::string core_message::header(const std::string& key) const {
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return {};
}

std::optional<core_subscription::message> core_subscription::next(std::int64_t timeout_ms) {
  natsMsg* m = nullptr;
  if (natsSubscription_NextMsg(&m, impl_->sub, timeout_ms) != NATS_OK) return std::nullopt;
  auto out = to_core_message(m);
  natsMsg_Destroy(m);
  return out;
}

// -- pull_subscription ----------------------------------------------------------------------

std::optional<delivery_meta> parse_ack_subject(std::string_view reply) {
  constexpr std::string_view prefix = "$JS.ACK.";
  if (reply.substr(0, prefix.size()) != prefix) return std::nullopt;
  reply.remove_prefix(prefix.size());
  std::string_view tokens[12];
  std::size_t n = 0;
  for (;;) {
    const auto dot = reply.find('.');
    if (n == std::size(tokens)) return std::nullopt;
    tokens[n++] = reply.substr(0, dot);
    if (dot == std::string_view::npos) break;
    reply.remove_prefix(dot + 1);
  }
  // 7 tokens: stream, consumer, then the numbers; 9 or more: a domain and an account
  // hash come first (and a random token may follow).
  std::size_t at = 0;
  if (n == 7) at = 2;
  else if (n >= 9) at = 4;
  else return std::nullopt;
  std::uint64_t v[5];
  for (std::size_t i = 0; i < 5; ++i) {
    const auto t = tokens[at + i];
    if (t.empty()) return std::nullopt;
    std::uint64_t x = 0;
    for (char c : t) {
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (c < '0' || c > '9' || x > (UINT64_MAX - digit) / 10) return std::nullopt;
      x = x * 10 + digit;
    }
    v[i] = x;
  }
  if (v[3] > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return delivery_meta{v[0], v[1], v[2], static_cast<std::int64_t>(v[3]), v[4]};
}

struct pull_subscription::impl {
  nats_connection::impl* conn = nullptr;
  natsSubscription* sub = nullptr;  ///< core, synchronous, on `inbox` + ".*"
  std::string next_subject;         ///< $JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>
  std::string inbox;                ///< request n is answered on inbox + "." + n
  std::uint64_t requests = 0;
  // The durable consumer stays on the server: it is not this subscription's.
  ~impl() { release_subscription(conn ? conn->nc : nullptr, sub); }
};

pull_subscription::pull_subscription(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
pull_subscription::~pull_subscription() = default;

caf::expected<std::unique_ptr<pull_subscription>> nats_connection::pull_subscribe(
  const consumer_spec& spec) {
  if (auto err = reset_consumer(spec)) return err;
  auto p = std::make_unique<pull_subscription::impl>();
  p->conn = impl_.get();
  p->next_subject = "$JS.API.CONSUMER.MSG.NEXT." + spec.stream + "." + spec.durable;
  natsInbox* inbox = nullptr;
  if (auto err = to_error(natsInbox_Create(&inbox), "cannot make an inbox")) return err;
  p->inbox = inbox;
  natsInbox_Destroy(inbox);
  const auto subject = p->inbox + ".*";
  if (auto err = to_error(natsConnection_SubscribeSync(&p->sub, impl_->nc, subject.c_str()),
                          "cannot subscribe for consumer " + spec.durable))
    return err;
  // Room for every delivery the consumer may have outstanding (nats.c's own pull
  // subscription does the same): past the limit nats.c drops deliveries as a slow consumer.
  constexpr std::int64_t default_messages = 65536;
  if (spec.max_ack_pending > default_messages) {
    const auto bytes = std::min<std::int64_t>(spec.max_ack_pending * 1024 * 1024, INT_MAX);
    natsSubscription_SetPendingLimits(p->sub, static_cast<int>(std::min<std::int64_t>(spec.max_ack_pending, INT_MAX)),
                                      static_cast<int>(bytes));
  }
  return std::unique_ptr<pull_subscription>{new pull_subscription(std::move(p))};
}

std::string_view pull_subscription::message::header(const char* key) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(static_cast<natsMsg*>(const_cast<void*>(native)), key, &value) != NATS_OK || value == nullptr)
    return {};
  return value;
}

caf::expected<std::size_t> pull_subscription::fetch(
  int batch, std::int64_t max_bytes, std::int64_t timeout_ms,
  const std::function<void(const message&)>& visit) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
  std::size_t visited = 0;
  std::int64_t bytes = 0;
  std::string asked;  // this fetch's reply subject, once it has sent its request
  bool answered = false;
  const auto want = static_cast<std::size_t>(std::max(batch, 0));
  while (visited < want && (max_bytes <= 0 || bytes < max_bytes) && !answered) {
    std::int64_t wait_ms = 0;
    if (asked.empty()) {
      int queued = 0;
      natsSubscription_GetPending(impl_->sub, &queued, nullptr);
      if (queued == 0) {
        // Ask for the rest of the batch; the server ends the request 10 ms before we stop
        // waiting, so that its 408 arrives while this fetch still listens.
        asked = impl_->inbox + "." + std::to_string(++impl_->requests);
        std::string req = "{\"batch\":" + std::to_string(want - visited);
        if (max_bytes > 0) req += ",\"max_bytes\":" + std::to_string(max_bytes - bytes);
        const std::int64_t expires_ms = timeout_ms >= 20 ? timeout_ms - 10 : timeout_ms;
        req += ",\"expires\":" + std::to_string(std::max<std::int64_t>(expires_ms, 1) * 1'000'000) + "}";
        auto s = natsConnection_PublishRequest(impl_->conn->nc, impl_->next_subject.c_str(), asked.c_str(),
                                               req.data(), static_cast<int>(req.size()));
        if (s != NATS_OK) {
          if (visited > 0) break;
          return to_error(s, "fetch request");
        }
      }
    }
    if (!asked.empty()) {
      wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (wait_ms <= 0) break;
    }
    natsMsg* raw = nullptr;
    auto s = natsSubscription_NextMsg(&raw, impl_->sub, wait_ms);
    if (s == NATS_TIMEOUT) {
      if (asked.empty()) continue;  // the leftovers ran out: now ask
      break;
    }
    if (s != NATS_OK) {
      // NATS_NO_RESPONDERS: no consumer took the request (deleted). NATS_SLOW_CONSUMER:
      // deliveries were dropped, which the next consumer sequence shows.
      if (visited > 0) break;
      return to_error(s, "fetch");
    }
    std::unique_ptr<natsMsg, msg_deleter> m{raw};
    const char* reply = natsMsg_GetReply(raw);
    if (reply != nullptr && *reply != '\0') {
      // A delivery. One that cannot be read must not vanish: the fetch fails with it
      // (before visiting it), and the consumer sequence after it shows the gap.
      const auto meta = parse_ack_subject(reply);
      if (!meta) {
        if (visited > 0) break;
        return make_error(errc::nats, std::string{"fetch: a delivery with an ack subject not understood: "} + reply);
      }
      const auto size = natsMsg_GetDataLength(raw);
      message out{meta->stream_seq, meta->consumer_seq, meta->timestamp_ns, meta->num_pending,
                  {natsMsg_GetData(raw), static_cast<std::size_t>(size)}, std::string_view{reply}, raw};
      visit(out);
      ++visited;
      bytes += size;
      continue;
    }
    // A status. Only this fetch's own request can end it: an earlier one's 408 says
    // nothing about this one.
    const char* status = nullptr;
    if (natsMsgHeader_Get(raw, "Status", &status) != NATS_OK || status == nullptr) continue;
    if (asked.empty() || asked != natsMsg_GetSubject(raw)) continue;
    const std::string_view code{status};
    if (code.substr(0, 3) == "100") continue;  // idle heartbeat
    answered = true;
    if (code.substr(0, 3) == "404" || code.substr(0, 3) == "408") break;
    // 409: the consumer was deleted, or a request limit (batch, max_bytes, waiting).
    const char* description = nullptr;
    natsMsgHeader_Get(raw, "Description", &description);
    if (visited == 0)
      return make_error(errc::nats, "fetch: " + std::string{code} + (description ? std::string{" "} + description : ""));
  }
  return visited;
}

caf::error pull_subscription::ack(const std::string& reply) {
  // The JetStream ack protocol: "+ACK" to the message's reply subject.
  return to_error(natsConnection_PublishString(impl_->conn->nc, reply.c_str(), "+ACK"), "ack");
}

}  // namespace adclick
