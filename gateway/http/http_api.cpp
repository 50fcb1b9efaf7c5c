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
#include "messages/proto_json.hpp"
#include "messages/type_ids.hpp"
#include "actors/core/query_rules.hpp"
#include "gateway/door.hpp"
#include "gateway/http/json_render.hpp"
#include "gateway/http/metrics.hpp"
#include "gateway/query_timings.hpp"
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

}  // namespace

struct http_api::impl {
  caf::actor_system& sys;
  caf::actor gateway;
  std::function<outside_status()> outside;
  const admin_verbs& admin;
  options opts;
  httplib::Server server;
  std::thread thread;

  impl(caf::actor_system& s, caf::actor g, std::function<outside_status()> o, const admin_verbs& a, options op)
    : sys(s), gateway(std::move(g)), outside(std::move(o)), admin(a), opts(op) {}

  /// Adds how long a request of `endpoint` took since `start` to the latency histograms.
  void timed(const char* endpoint, std::chrono::steady_clock::time_point start) const {
    if (opts.timings == nullptr) return;
    opts.timings->observe(endpoint, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  void metrics(httplib::Response& res) {
    auto snap = admin.take_snapshot();
    if (!snap) return send_caf_error(res, snap.error());
    metrics_input in;
    in.status = std::move(snap->status);
    in.partitions = std::move(snap->partitions);
    if (opts.timings) in.queries = opts.timings->snapshot();
    in.query_bounds = query_timings::bounds();
    in.sse_clients = opts.live ? opts.live->sessions() : 0;
    in.version = opts.version;
    res.status = 200;
    res.set_content(render_metrics(in), "text/plain; version=0.0.4; charset=utf-8");
  }

  /// /v1/admin/<verb>: GET for the verbs that only look, POST for those that change state.
  void admin_verb(const httplib::Request& req, httplib::Response& res, bool post) {
    const std::string verb = req.matches[1];
    const bool changes = verb == "checkpoint" || verb == "passivate";
    if (changes && !post) {
      res.set_header("Allow", "POST");
      return send_error(res, 405, "method_not_allowed", "admin " + verb + " changes state: use POST");
    }
    if (!changes && post) {
      res.set_header("Allow", "GET");
      return send_error(res, 405, "method_not_allowed", "admin " + verb + " only looks: use GET");
    }
    if (auto e = check_params(req, {"ad", "k"}); !e.empty()) return send_error(res, 400, "bad_parameter", e);
    v1::AdminRequest r;
    r.set_verb(verb);
    std::uint64_t n = 0;
    if (req.has_param("ad")) {
      if (!parse_id(req.get_param_value("ad"), n) || n == 0)
        return send_error(res, 400, "bad_parameter", "ad must be a positive 64-bit integer");
      r.set_ad_id(n);
    }
    if (req.has_param("k")) {
      if (!parse_id(req.get_param_value("k"), n) || n == 0 || n > 1000)
        return send_error(res, 400, "bad_parameter", "k must be between 1 and 1000");
      r.set_k(static_cast<std::uint32_t>(n));
    }
    const auto start = std::chrono::steady_clock::now();
    const auto answer = admin.run(r);
    timed("admin", start);
    if (answer.status() != 200) {
      if (answer.status() == 503) res.set_header("Retry-After", "1");
      return send_error(res, static_cast<int>(answer.status()), answer.error_code(), answer.error());
    }
    res.status = 200;
    res.set_content(to_json(admin_body(answer)), "application/json");
  }

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

    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { metrics(res); });

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

    server.Get(R"(/v1/admin/([a-z]+))",
               [this](const httplib::Request& req, httplib::Response& res) { admin_verb(req, res, false); });
    server.Post(R"(/v1/admin/([a-z]+))",
                [this](const httplib::Request& req, httplib::Response& res) { admin_verb(req, res, true); });

    for (auto kind : {entity::ad, entity::campaign, entity::advertiser}) {
      const std::string path = std::string{"/v1/"} + (kind == entity::ad ? "ads" : kind == entity::campaign ? "campaigns" : "advertisers") + "/([^/]+)/clicks";
      server.Get(path, [this, kind](const httplib::Request& req, httplib::Response& res) {
        series_query q;
        q.kind = kind;
        if (auto e = parse_series(req, q); !e.empty()) return send_error(res, 400, "bad_parameter", e);
        const auto start = std::chrono::steady_clock::now();
        auto s = ask(sys, gateway, q);
        timed(to_string(kind), start);
        if (!s) return send_caf_error(res, s.error());
        res.status = 200;
        res.set_content(render_series(q, *s), "application/json");
      });
    }

    server.Get("/v1/stream", [this](const httplib::Request& req, httplib::Response& res) { stream(req, res); });

    server.Get("/v1/top", [this](const httplib::Request& req, httplib::Response& res) {
      top_query q;
      if (auto e = parse_top(req, q); !e.empty()) return send_error(res, 400, "bad_parameter", e);
      const auto start = std::chrono::steady_clock::now();
      auto t = ask(sys, gateway, q);
      timed("top", start);
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
                   const admin_verbs& admin, options opts)
  : impl_(std::make_unique<impl>(sys, std::move(gateway), std::move(outside), admin, opts)) {
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
