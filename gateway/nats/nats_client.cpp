#include "gateway/nats/nats_client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
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
  return make_error(errc::nats, std::move(text));
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

std::string partitions_description(std::uint32_t partitions) {
  return "adclick clicks; partitions=" + std::to_string(partitions);
}

}  // namespace

struct nats_connection::impl {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  std::atomic<std::uint64_t> async_failures{0};
  std::atomic<std::uint64_t> epoch{0};
  // nats.c runs connection callbacks on its own thread, after the call that causes them
  // returns: this object (their closure) must live until the last one, `closed`, has run.
  std::mutex mutex;
  std::condition_variable cv;
  bool closed = false;

  ~impl() {
    if (js) jsCtx_Destroy(js);
    if (!nc) return;
    natsConnection_FlushTimeout(nc, 2000);
    natsConnection_Close(nc);  // queues the disconnected and closed callbacks
    {
      std::unique_lock<std::mutex> lock{mutex};
      cv.wait_for(lock, std::chrono::seconds(10), [this] { return closed; });
    }
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
  static_cast<nats_connection::impl*>(closure)->epoch.fetch_add(1, std::memory_order_acq_rel);
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
                                                                         const std::string& name) {
  natsOptions* raw = nullptr;
  if (auto err = to_error(natsOptions_Create(&raw), "natsOptions_Create")) return err;
  std::unique_ptr<natsOptions, options_deleter> opts{raw};
  natsStatus s = natsOptions_SetURL(raw, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(raw, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(raw, -1);  // forever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(raw, 250);
  if (auto err = to_error(s, "NATS options")) return err;

  auto p = std::make_unique<impl>();
  s = natsOptions_SetDisconnectedCB(raw, on_disconnected, p.get());
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(raw, on_async_error, p.get());
  if (s == NATS_OK) s = natsOptions_SetClosedCB(raw, on_closed, p.get());
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

caf::error nats_connection::ensure_stream(const stream_spec& spec) {
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&raw, impl_->js, spec.name.c_str(), nullptr, &jerr);
  std::unique_ptr<jsStreamInfo, stream_info_deleter> info{raw};
  const auto wanted = partitions_description(spec.partitions);
  if (s == NATS_OK) {
    const char* desc = info->Config->Description ? info->Config->Description : "";
    if (wanted != desc)
      return make_error(errc::format_mismatch,
                        "stream " + spec.name + " says '" + desc + "' but this service has '" +
                          wanted + "': partitions.count must match the stream it was created with");
    return {};
  }
  if (s != NATS_NOT_FOUND) return to_error(s, "stream info " + spec.name, jerr);

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  cfg.Description = wanted.c_str();
  const char* subjects[] = {spec.subjects.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.MaxAge = spec.max_age_ms * 1'000'000;          // nanoseconds
  cfg.Duplicates = spec.duplicate_window_ms * 1'000'000;
  raw = nullptr;
  s = js_AddStream(&raw, impl_->js, &cfg, nullptr, &jerr);
  info.reset(raw);
  return to_error(s, "cannot create stream " + spec.name, jerr);
}

caf::error nats_connection::reset_consumer(const consumer_spec& spec) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteConsumer(impl_->js, spec.stream.c_str(), spec.durable.c_str(), nullptr, &jerr);
  if (s != NATS_OK && s != NATS_NOT_FOUND)
    return to_error(s, "cannot delete consumer " + spec.durable, jerr);
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = spec.durable.c_str();
  cc.FilterSubject = spec.filter_subject.empty() ? nullptr : spec.filter_subject.c_str();
  cc.AckPolicy = js_AckAll;
  cc.AckWait = spec.ack_wait_ms * 1'000'000;
  cc.MaxAckPending = spec.max_ack_pending;
  cc.MaxDeliver = -1;
  if (spec.start_seq > 1) {
    cc.DeliverPolicy = js_DeliverByStartSequence;
    cc.OptStartSeq = spec.start_seq;
  } else {
    cc.DeliverPolicy = js_DeliverAll;
  }
  jsConsumerInfo* raw = nullptr;
  s = js_AddConsumer(&raw, impl_->js, spec.stream.c_str(), &cc, nullptr, &jerr);
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

std::uint64_t nats_connection::publish_async_failures() const {
  return impl_->async_failures.load(std::memory_order_relaxed);
}

caf::error nats_connection::publish(const std::string& subject, std::string_view data) {
  return to_error(natsConnection_Publish(impl_->nc, subject.c_str(), data.data(),
                                         static_cast<int>(data.size())),
                  "publish to " + subject);
}

caf::error nats_connection::publish_with_headers(const std::string& subject, std::string_view data,
                                                const std::vector<std::pair<std::string, std::string>>& headers) {
  natsMsg* m = nullptr;
  natsStatus s = natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  for (const auto& [key, value] : headers)
    if (s == NATS_OK) s = natsMsgHeader_Set(m, key.c_str(), value.c_str());
  if (s == NATS_OK) s = natsConnection_PublishMsg(impl_->nc, m);
  natsMsg_Destroy(m);
  return to_error(s, "publish to " + subject);
}

caf::error nats_connection::flush(std::int64_t timeout_ms) {
  return to_error(natsConnection_FlushTimeout(impl_->nc, timeout_ms), "flush");
}

// -- core_subscription ----------------------------------------------------------------------

struct core_subscription::impl {
  natsSubscription* sub = nullptr;
  ~impl() {
    if (sub) natsSubscription_Destroy(sub);
  }
};

core_subscription::core_subscription(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
core_subscription::~core_subscription() = default;

caf::expected<std::unique_ptr<core_subscription>> nats_connection::subscribe(const std::string& subject) {
  auto p = std::make_unique<core_subscription::impl>();
  if (auto err = to_error(natsConnection_SubscribeSync(&p->sub, impl_->nc, subject.c_str()), "subscribe " + subject))
    return err;
  if (auto err = to_error(natsConnection_FlushTimeout(impl_->nc, 2000), "flush")) return err;
  return std::unique_ptr<core_subscription>{new core_subscription(std::move(p))};
}

std::string core_subscription::message::header(const std::string& key) const {
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return {};
}

std::optional<core_subscription::message> core_subscription::next(std::int64_t timeout_ms) {
  natsMsg* m = nullptr;
  if (natsSubscription_NextMsg(&m, impl_->sub, timeout_ms) != NATS_OK) return std::nullopt;
  message out;
  out.subject = natsMsg_GetSubject(m);
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
  natsMsg_Destroy(m);
  return out;
}

// -- pull_subscription ----------------------------------------------------------------------

struct pull_subscription::impl {
  nats_connection::impl* conn = nullptr;
  natsSubscription* sub = nullptr;
  ~impl() {
    if (sub) natsSubscription_Destroy(sub);  // keeps the durable consumer on the server
  }
};

pull_subscription::pull_subscription(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
pull_subscription::~pull_subscription() = default;

caf::expected<std::unique_ptr<pull_subscription>> nats_connection::pull_subscribe(
  const consumer_spec& spec) {
  if (auto err = reset_consumer(spec)) return err;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec.stream.c_str();
  so.Consumer = spec.durable.c_str();
  auto p = std::make_unique<pull_subscription::impl>();
  p->conn = impl_.get();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&p->sub, impl_->js, spec.filter_subject.c_str(),
                                  spec.durable.c_str(), nullptr, &so, &jerr);
  if (auto err = to_error(s, "cannot bind to consumer " + spec.durable, jerr)) return err;
  return std::unique_ptr<pull_subscription>{new pull_subscription(std::move(p))};
}

caf::expected<std::size_t> pull_subscription::fetch(
  int batch, std::int64_t max_bytes, std::int64_t timeout_ms,
  const std::function<void(const message&)>& visit) {
  natsMsgList list{nullptr, 0};
  jsFetchRequest req;
  jsFetchRequest_Init(&req);
  req.Batch = batch;
  req.MaxBytes = max_bytes;
  req.Expires = timeout_ms * 1'000'000;  // nanoseconds
  natsStatus s = natsSubscription_FetchRequest(&list, impl_->sub, &req);
  const jsErrCode jerr = static_cast<jsErrCode>(0);
  if (s == NATS_TIMEOUT) {
    natsMsgList_Destroy(&list);
    return std::size_t{0};
  }
  if (s != NATS_OK) {
    natsMsgList_Destroy(&list);
    return to_error(s, "fetch", jerr);
  }
  std::size_t visited = 0;
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* m = list.Msgs[i];
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) != NATS_OK) continue;  // not a JetStream message
    const char* reply = natsMsg_GetReply(m);
    message out{meta->Sequence.Stream, meta->Sequence.Consumer,
                {natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))},
                reply ? std::string_view{reply} : std::string_view{}};
    jsMsgMetaData_Destroy(meta);
    visit(out);
    ++visited;
  }
  natsMsgList_Destroy(&list);
  return visited;
}

caf::error pull_subscription::ack(const std::string& reply) {
  // The JetStream ack protocol: "+ACK" to the message's reply subject.
  return to_error(natsConnection_PublishString(impl_->conn->nc, reply.c_str(), "+ACK"), "ack");
}

}  // namespace adclick
