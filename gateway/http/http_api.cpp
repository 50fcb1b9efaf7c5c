#include "gateway/http/http_api.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <regex>

#include <caf/scoped_actor.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "messages/type_ids.hpp"
#include "actors/core/query_rules.hpp"
#include "gateway/door.hpp"
#include "gateway/http/json_render.hpp"
#include "gateway/live_fanout.hpp"
#include "web/assets.hpp"

namespace adclick {

namespace {

using json = nlohmann::json;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_json(res, status, json{{"error", {{"code", code}, {"message", message}}}});
}

void send_caf_error(httplib::Response& res, const caf::error& err) {
  const auto e = error_of(err);
  if (e.status == 503) res.set_header("Retry-After", "1");
  send_error(res, e.status, e.code, e.message);
}

/// Rejects parameters the endpoint does not know (a typo must not silently mean a default),
/// and a parameter given twice unless it is a list (which one would win is a guess).
std::string check_params(const httplib::Request& req, std::initializer_list<const char*> known,
                         std::initializer_list<const char*> lists = {}) {
  for (const auto& [name, value] : req.params) {
    bool ok = false, list = false;
    for (const auto* k : known) ok = ok || name == k;
    for (const auto* k : lists)
      if (name == k) ok = list = true;
    if (!ok) return "unknown parameter " + name;
    if (!list && req.get_param_value_count(name.c_str()) > 1) return "parameter " + name + " given more than once";
  }
  return {};
}

/// An id in a path: a decimal unsigned 64-bit integer.
bool parse_id(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  try {
    out = std::stoull(text);
  } catch (...) {
    return false;
  }
  return true;
}

std::string parse_range(const httplib::Request& req, std::int64_t& from, std::int64_t& to) {
  auto f = parse_time(req.get_param_value("from"));
  auto t = parse_time(req.get_param_value("to"));
  if (!f || !t) return "from and to are required: RFC 3339 (2026-11-28T10:00:00Z) or epoch ms";
  from = *f;
  to = *t;
  return {};
}

std::string parse_view(const httplib::Request& req, bool& billing) {
  const std::string view = req.has_param("view") ? req.get_param_value("view") : "live";
  if (view != "live" && view != "billing") return "view must be live or billing";
  billing = view == "billing";
  return {};
}

std::string parse_series(const httplib::Request& req, series_query& q) {
  if (auto e = check_params(req, {"from", "to", "granularity", "view"}); !e.empty()) return e;
  if (!parse_id(req.matches[1], q.id))
    return std::string{to_string(q.kind)} + " id must be an unsigned 64-bit integer";
  std::int64_t from = 0, to = 0;
  if (auto e = parse_range(req, from, to); !e.empty()) return e;
  const std::string gran = req.has_param("granularity") ? req.get_param_value("granularity") : "minute";
  if (!from_string(gran, q.gran)) return "granularity must be minute, hour or day";
  if (auto e = parse_view(req, q.billing); !e.empty()) return e;
  return normalize(q, from, to, query_limits{});
}

std::string parse_top(const httplib::Request& req, top_query& q) {
  if (auto e = check_params(req, {"from", "to", "k", "by", "view"}); !e.empty()) return e;
  std::int64_t from = 0, to = 0;
  if (auto e = parse_range(req, from, to); !e.empty()) return e;
  const std::string by = req.has_param("by") ? req.get_param_value("by") : "ad";
  if (!from_string(by, q.by)) return "by must be ad, campaign or advertiser";
  if (req.has_param("k")) {
    std::uint64_t k = 0;
    if (!parse_id(req.get_param_value("k"), k) || k > 1'000'000) return "k must be between 1 and 1000";
    q.k = static_cast<std::uint32_t>(k);
  }
  if (auto e = parse_view(req, q.billing); !e.empty()) return e;
  return normalize(q, from, to, query_limits{});
}

json outcomes_json(const outcome_counters& c) {
  json out = json::object();
  for (std::size_t i = 0; i < outcome_count; ++i) out[to_string(static_cast<outcome>(i))] = c.by_outcome[i];
  return out;
}

}  // namespace

std::vector<std::string> readiness_problems(const std::vector<partition_status>& partitions,
                                            const outside_status& outside, std::int64_t max_age_ms,
                                            std::int64_t now) {
  std::vector<std::string> out;
  for (const auto& s : partitions) {
    const auto p = "partition " + std::to_string(s.partition) + ": ";
    if (!s.recovered) out.push_back(p + "recovering its stored state");
    if (s.failing_since_ms != 0)
      out.push_back(p + "checkpoints failing since " + format_time(s.failing_since_ms) + ": " +
                    s.last_checkpoint_error);
    if (s.durable_at_ms != 0 && now - s.durable_at_ms > max_age_ms) {
      auto text = p + "the store lags what was dispatched by " + std::to_string((now - s.durable_at_ms) / 1000) + " s";
      if (s.in_flight_since_ms != 0)
        text += " (a checkpoint write has been in flight for " + std::to_string((now - s.in_flight_since_ms) / 1000) +
                " s)";
      out.push_back(std::move(text));
    }
  }
  for (const auto& in : outside.ingress) {
    const auto p = "partition " + std::to_string(in.partition) + ": ";
    if (!in.halted.empty()) out.push_back(p + in.halted);
    else if (!in.running) out.push_back(p + "not bound to its NATS consumer (connecting)");
  }
  return out;
}

struct http_api::impl {
  caf::actor_system& sys;
  caf::actor gateway;
  std::function<outside_status()> outside;
  options opts;
  httplib::Server server;
  std::thread thread;

  impl(caf::actor_system& s, caf::actor g, std::function<outside_status()> o, options op)
    : sys(s), gateway(std::move(g)), outside(std::move(o)), opts(op) {}

  /// Asks the gateway for every partition's status; nullopt (and `err`) on failure.
  std::optional<std::vector<partition_status>> statuses(caf::error& err) {
    auto xs = ask_statuses(sys, gateway);
    if (!xs) {
      err = std::move(xs.error());
      return std::nullopt;
    }
    return std::move(*xs);
  }

  /// GET /v1/stream: Server-Sent Events. First `retry:`, then the current counts of every
  /// watched id over the last live_replay_ms of event time (also on a resume with
  /// Last-Event-ID: counts are absolute, so the current ones replace whatever was missed),
  /// then each live update as it comes, a comment every live_heartbeat_ms when quiet.
  void stream(const httplib::Request& req, httplib::Response& res) {
    if (!opts.live) return send_error(res, 404, "not_found", "live updates are off");
    live_fanout::filter f;
    if (auto e = check_params(req, {}, {"ads", "campaigns", "advertisers"}); !e.empty())
      return send_error(res, 400, "bad_parameter", e);
    for (auto [name, ids] : {std::pair{"ads", &f.ads}, std::pair{"campaigns", &f.campaigns},
                             std::pair{"advertisers", &f.advertisers}}) {
      // ads=1,2 and ads=1&ads=2 alike.
      for (auto [i, end] = req.params.equal_range(name); i != end; ++i) {
        const auto& text = i->second;
        std::size_t at = 0;
        while (at <= text.size()) {
          const auto comma = std::min(text.find(',', at), text.size());
          std::uint64_t id = 0;
          if (!parse_id(text.substr(at, comma - at), id))
            return send_error(res, 400, "bad_parameter", std::string{name} + " must be a comma-separated list of ids");
          ids->insert(id);
          at = comma + 1;
        }
      }
    }
    if (f.size() == 0) return send_error(res, 400, "bad_parameter", "name at least one of ads, campaigns, advertisers");
    if (f.size() > 1000) return send_error(res, 400, "bad_parameter", "at most 1000 ids per stream");
    auto session = opts.live->open(f);
    if (!session) {
      res.set_header("Retry-After", "5");
      return send_error(res, 503, "too_many_streams", "the live stream limit (live.max-streams) is reached");
    }
    // The replay: current counts around the highest watermark. Not while a partition
    // recovers: the stream would open without the counts it promises.
    caf::error err;
    std::int64_t watermark = 0;
    auto st = statuses(err);
    if (!st) {
      opts.live->close(session);
      return send_caf_error(res, err);
    }
    for (const auto& s : *st) {
      if (!s.recovered) {
        opts.live->close(session);
        return send_caf_error(res, make_error(errc::recovering, "partition " + std::to_string(s.partition) + " is recovering"));
      }
      watermark = std::max(watermark, s.watermark_ms);
    }
    const auto to = minute_of(watermark) + 2 * minute_ms;
    for (auto [kind, ids] : {std::pair{entity::ad, &f.ads}, std::pair{entity::campaign, &f.campaigns},
                             std::pair{entity::advertiser, &f.advertisers}})
      for (auto id : *ids) {
        series_query q{kind, id, to - opts.live_replay_ms, to, granularity::minute, false};
        auto s = ask(sys, gateway, q);
        if (!s) continue;  // not counted yet: its updates come as they happen
        for (const auto& p : s->points) session->offer({opts.live->next_seq(), kind, id, p});
      }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto* live = opts.live;
    const auto heartbeat = std::chrono::milliseconds(opts.live_heartbeat_ms);
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
      "text/event-stream",
      [session, first, heartbeat](std::size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& text) { return sink.write(text.data(), text.size()); };
        if (*first) {  // then the replay, queued in the session with the hub's events
          *first = false;
          return write("retry: 2000\n\n");
        }
        auto events = session->wait(heartbeat);
        if (!events) {
          sink.done();
          return true;
        }
        if (events->empty()) return write(": hb\n\n");
        std::string text;
        for (const auto& e : *events) text += render_sse_event(e);
        return write(text);
      },
      [live, session](bool) { live->close(session); });
  }

  void routes() {
    // The dashboard page and its assets, embedded in the binary (web/).
    auto serve_asset = [](const httplib::Request& req, httplib::Response& res) {
      const auto* a = web::find_asset(req.path);
      if (!a) return send_error(res, 404, "not_found", "no such asset");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string{a->body}, std::string{a->mime}.c_str());
    };
    server.Get("/", serve_asset);
    server.Get(R"(/assets/[^/]+)", serve_asset);

    server.Get("/livez", [](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, json{{"status", "live"}});
    });

    server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      caf::error err;
      auto st = statuses(err);
      std::vector<std::string> problems;
      if (!st) problems.push_back("partitions do not answer: " + describe(err));
      else problems = readiness_problems(*st, outside(), opts.checkpoint_max_age_ms, now_ms());
      if (problems.empty()) return send_json(res, 200, json{{"status", "ready"}});
      std::string message;
      for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
      res.set_header("Retry-After", "1");
      send_json(res, 503, json{{"error", {{"code", "not_ready"}, {"message", message}}}, {"reasons", problems}});
    });

    server.Get("/v1/admin/status", [this](const httplib::Request&, httplib::Response& res) {
      caf::error err;
      auto st = statuses(err);
      if (!st) return send_caf_error(res, err);
      json parts = json::array();
      outcome_counters totals;
      std::uint64_t active = 0, undecided = 0;
      const auto out = outside();
      const auto now = now_ms();
      for (const auto& s : *st) {
        ingress_status in;
        for (const auto& x : out.ingress)
          if (x.partition == s.partition) in = x;
        totals += s.outcomes;
        active += s.active_ads;
        undecided += s.undecided;
        parts.push_back({{"partition", s.partition},
                         {"recovered", s.recovered},
                         {"dispatched_seq", s.dispatched_seq},
                         {"durable_seq", s.durable_seq},
                         {"stream_created", s.stream_created_ns == 0 ? std::string{} : format_time(s.stream_created_ns / 1'000'000)},
                         {"stream_created_ns", s.stream_created_ns},
                         {"watermark_ms", s.watermark_ms},
                         {"durable_final_before_ms", s.durable_final_before_ms},
                         {"owner_conflicts", s.owner_conflicts},
                         {"active_ads", s.active_ads},
                         {"passivated_ads", s.passivated},
                         {"checkpoints", s.checkpoints},
                         {"checkpoint_failures", s.checkpoint_failures},
                         {"checkpoint_failing_since", s.failing_since_ms == 0 ? std::string{} : format_time(s.failing_since_ms)},
                         {"last_checkpoint_error", s.last_checkpoint_error},
                         {"durable_age_ms", s.durable_at_ms == 0 ? 0 : now - s.durable_at_ms},
                         {"last_checkpoint_write_ms", s.last_checkpoint_ms},
                         {"checkpoint_in_flight_ms", s.in_flight_since_ms == 0 ? 0 : now - s.in_flight_since_ms},
                         {"dlq_rows_waiting", s.outbox_pending},
                         {"ingesting", in.running},
                         {"halted", in.halted},
                         {"fetched_messages", in.fetched},
                         {"acked_messages", in.acked},
                         {"delivery_gaps", in.gaps},
                         {"consumer_recreated", in.consumer_recreated},
                         {"missing_stream_seqs", in.missing},
                         {"idle_markers", in.markers},
                         {"unacked_messages", in.unacked},
                         {"outcomes", outcomes_json(s.outcomes)},
                         {"undecided", s.undecided}});
      }
      const auto problems = readiness_problems(*st, out, opts.checkpoint_max_age_ms, now);
      send_json(res, 200,
                json{{"partitions_count", opts.partitions_count},
                     {"partitions", parts},
                     {"active_ads", active},
                     {"outcomes", outcomes_json(totals)},
                     {"undecided", undecided},
                     {"arrived", totals.total() + undecided},
                     {"ready", problems.empty()},
                     {"not_ready_because", problems},
                     {"outbox",
                      {{"published", out.outbox.published},
                       {"already_published_at_start", out.outbox.skipped},
                       {"failed_batches", out.outbox.failures},
                       {"start_check_done", out.outbox.scanned},
                       {"last_error", out.outbox.last_error}}},
                     {"windows",
                      {{"max_out_of_orderness_ms", opts.rules.max_out_of_orderness_ms},
                       {"allowed_lateness_ms", opts.rules.allowed_lateness_ms},
                       {"max_future_skew_ms", opts.rules.max_future_skew_ms},
                       {"dedup_horizon_ms", opts.rules.dedup_horizon_ms}}}});
    });

    for (auto kind : {entity::ad, entity::campaign, entity::advertiser}) {
      const std::string path = std::string{"/v1/"} + (kind == entity::ad ? "ads" : kind == entity::campaign ? "campaigns" : "advertisers") + "/([^/]+)/clicks";
      server.Get(path, [this, kind](const httplib::Request& req, httplib::Response& res) {
        series_query q;
        q.kind = kind;
        if (auto e = parse_series(req, q); !e.empty()) return send_error(res, 400, "bad_parameter", e);
        auto s = ask(sys, gateway, q);
        if (!s) return send_caf_error(res, s.error());
        res.status = 200;
        res.set_content(render_series(q, *s), "application/json");
      });
    }

    server.Get("/v1/stream", [this](const httplib::Request& req, httplib::Response& res) { stream(req, res); });

    server.Get("/v1/top", [this](const httplib::Request& req, httplib::Response& res) {
      top_query q;
      if (auto e = parse_top(req, q); !e.empty()) return send_error(res, 400, "bad_parameter", e);
      auto t = ask(sys, gateway, q);
      if (!t) return send_caf_error(res, t.error());
      res.status = 200;
      res.set_content(render_top(*t), "application/json");
    });

    server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.status == 404 && res.body.empty()) send_error(res, 404, "not_found", "no such endpoint");
    });
    server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      log_error("http", "http_exception").kv("path", req.path).kv("error", what);
      send_error(res, 500, "internal", what);
    });
  }
};

http_api::http_api(caf::actor_system& sys, caf::actor gateway, std::function<outside_status()> outside,
                   options opts)
  : impl_(std::make_unique<impl>(sys, std::move(gateway), std::move(outside), opts)) {
  impl_->server.set_tcp_nodelay(true);
  // Each SSE stream holds a thread while it lasts: room for all of them and for queries.
  const auto threads = (opts.live ? opts.live->max_sessions() : 0) + 8;
  impl_->server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl_->routes();
}

http_api::~http_api() { stop(); }

bool http_api::start(const std::string& host, int port) {
  if (!impl_->server.bind_to_port(host.c_str(), port)) return false;
  impl_->thread = std::thread{[this] { impl_->server.listen_after_bind(); }};
  return true;
}

void http_api::stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

}  // namespace adclick
