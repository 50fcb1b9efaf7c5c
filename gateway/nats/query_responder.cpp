#include "gateway/nats/query_responder.hpp"

#include <chrono>

#include "actors/core/query_rules.hpp"
#include "adclick/v1/admin.pb.h"
#include "adclick/v1/query.pb.h"
#include "gateway/admin.hpp"
#include "gateway/query_timings.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "gateway/door.hpp"
#include "gateway/nats/nats_client.hpp"

namespace adclick {

namespace {

entity entity_of(v1::Entity e) {
  return e == v1::CAMPAIGN ? entity::campaign : e == v1::ADVERTISER ? entity::advertiser : entity::ad;
}
v1::Entity to_proto(entity e) {
  return e == entity::campaign ? v1::CAMPAIGN : e == entity::advertiser ? v1::ADVERTISER : v1::AD;
}
v1::Granularity to_proto(granularity g) {
  return g == granularity::hour ? v1::HOUR : g == granularity::day ? v1::DAY : v1::MINUTE;
}
v1::BucketState to_proto(bucket_state s) {
  return s == bucket_state::final ? v1::FINAL : s == bucket_state::amended ? v1::AMENDED : v1::OPEN;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fail(v1::QueryResponse& out, int status, const std::string& code, const std::string& message) {
  out.set_status(static_cast<std::uint32_t>(status));
  out.set_error_code(code);
  out.set_error(message);
  return out.SerializeAsString();
}

}  // namespace

query_responder::query_responder(caf::actor_system& sys, caf::actor gateway, nats_connection& nats, subjects names,
                                 const admin_verbs* admin, query_timings* timings)
  : sys_(sys), gateway_(std::move(gateway)), nats_(nats), names_(std::move(names)), admin_(admin), timings_(timings) {}

query_responder::~query_responder() { subs_.clear(); }

caf::error query_responder::start(const std::vector<std::uint32_t>& partitions) {
  subs_.clear();  // a retry after a failure starts over
  for (auto p : partitions) {
    auto sub = nats_.subscribe(names_.query(p), [this](core_message&& m) {
      if (m.reply.empty()) return;  // not a request: nobody to answer
      const auto start = std::chrono::steady_clock::now();
      auto reply = answer(m.data);
      if (timings_) timings_->observe("nats_query", seconds_since(start));
      if (auto err = nats_.publish(m.reply, reply))
        log_warn("nats", "query_reply_failed").kv("subject", m.subject).kv("error", describe(err));
    });
    if (!sub) {
      subs_.clear();
      return sub.error();
    }
    subs_.push_back(std::move(*sub));
  }
  if (admin_ == nullptr) return {};
  auto sub = nats_.subscribe(names_.all_admin(), [this](core_message&& m) {
    if (m.reply.empty()) return;
    const auto start = std::chrono::steady_clock::now();
    auto reply = answer_admin(m.subject, m.data);
    if (timings_) timings_->observe("admin", seconds_since(start));
    if (!reply) return;
    if (auto err = nats_.publish(m.reply, *reply))
      log_warn("nats", "admin_reply_failed").kv("subject", m.subject).kv("error", describe(err));
  });
  if (!sub) {
    subs_.clear();
    return sub.error();
  }
  subs_.push_back(std::move(*sub));
  return {};
}

std::optional<std::string> query_responder::answer_admin(const std::string& subject,
                                                         const std::string& bytes) const {
  v1::AdminRequest req;
  v1::AdminResponse out;
  const auto verb = subject.substr(subject.rfind('.') + 1);
  auto fail_admin = [&](const std::string& message) {
    out.set_status(400);
    out.set_error_code("bad_parameter");
    out.set_error(message);
    return out.SerializeAsString();
  };
  if (!req.ParseFromString(bytes)) return fail_admin("not an adclick.v1.AdminRequest");
  if (!req.verb().empty() && req.verb() != verb)
    return fail_admin("the request names verb '" + req.verb() + "' but came on " + subject);
  req.set_verb(verb);
  auto r = admin_->run(req);
  if (r.error_code() == "not_owned") return std::nullopt;
  return r.SerializeAsString();
}

std::string query_responder::answer(const std::string& bytes) const {
  v1::QueryRequest req;
  v1::QueryResponse out;
  if (!req.ParseFromString(bytes)) return fail(out, 400, "bad_parameter", "not an adclick.v1.QueryRequest");
  const bool billing = req.view() == v1::BILLING;
  if (req.view() != v1::VIEW_UNSPECIFIED && req.view() != v1::LIVE && !billing)
    return fail(out, 400, "bad_parameter", "view must be live or billing");
  out.set_view(billing ? v1::BILLING : v1::LIVE);
  auto known = [](v1::Entity e) { return e == v1::AD || e == v1::CAMPAIGN || e == v1::ADVERTISER; };
  if (!known(req.kind()) || !known(req.by())) return fail(out, 400, "bad_parameter", "kind and by must be AD, CAMPAIGN or ADVERTISER");
  if (req.top()) {
    top_query q;
    q.by = entity_of(req.by());
    q.k = req.k() == 0 ? 10 : req.k();
    q.billing = billing;
    if (auto e = normalize(q, req.from_ms(), req.to_ms(), query_limits{}); !e.empty())
      return fail(out, 400, "bad_parameter", e);
    auto t = ask(sys_, gateway_, q);
    if (!t) {
      auto e = error_of(t.error());
      return fail(out, e.status, e.code, e.message);
    }
    out.set_status(200);
    out.set_by(to_proto(q.by));
    out.set_k(q.k);
    out.set_from_ms(q.from_ms);
    out.set_to_ms(q.to_ms);
    out.set_watermark_ms(t->watermark_ms);
    for (const auto& e : t->top) {
      auto* r = out.add_top();
      r->set_id(e.id);
      r->set_count(e.count);
    }
    return out.SerializeAsString();
  }
  series_query q;
  q.kind = entity_of(req.kind());
  q.id = req.id();
  q.billing = billing;
  switch (req.granularity()) {
    case v1::GRANULARITY_UNSPECIFIED:
    case v1::MINUTE: q.gran = granularity::minute; break;
    case v1::HOUR: q.gran = granularity::hour; break;
    case v1::DAY: q.gran = granularity::day; break;
    default: return fail(out, 400, "bad_parameter", "granularity must be minute, hour or day");
  }
  if (auto e = normalize(q, req.from_ms(), req.to_ms(), query_limits{}); !e.empty())
    return fail(out, 400, "bad_parameter", e);
  auto s = ask(sys_, gateway_, q);
  if (!s) {
    auto e = error_of(s.error());
    return fail(out, e.status, e.code, e.message);
  }
  out.set_status(200);
  out.set_id(q.id);
  out.set_kind(to_proto(q.kind));
  out.set_granularity(to_proto(q.gran));
  out.set_from_ms(q.from_ms);
  out.set_to_ms(q.to_ms);
  out.set_watermark_ms(s->watermark_ms);
  out.set_final_before_ms(s->final_before_ms);
  for (const auto& p : s->points) {
    auto* b = out.add_series();
    b->set_start_ms(p.start_ms);
    b->set_count(p.count);
    b->set_state(to_proto(p.state));
    b->set_version(p.version);
  }
  return out.SerializeAsString();
}

}  // namespace adclick
