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
#include "actors/core/series_rollup.hpp"

namespace adclick {

namespace {

using json = nlohmann::json;
constexpr auto ask_timeout = std::chrono::seconds(10);
/// The widest range one query may ask for, in minute buckets (about 69 days).
constexpr std::int64_t max_query_minutes = 100'000;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_json(res, status, json{{"error", {{"code", code}, {"message", message}}}});
}

void send_caf_error(httplib::Response& res, const caf::error& err) {
  if (err.category() == caf::atom("adclick")) {
    switch (static_cast<errc>(err.code())) {
      case errc::bad_request: return send_error(res, 400, "bad_request", describe(err));
      case errc::recovering:
        res.set_header("Retry-After", "1");
        return send_error(res, 503, "recovering", describe(err));
      default: break;
    }
  }
  send_error(res, 500, "internal", describe(err));
}

json outcomes_json(const outcome_counters& c) {
  json out = json::object();
  for (std::size_t i = 0; i < outcome_count; ++i) out[to_string(static_cast<outcome>(i))] = c.by_outcome[i];
  return out;
}

}  // namespace

struct http_api::impl {
  caf::actor_system& sys;
  caf::actor gateway;
  std::function<std::vector<ingest_stat>()> ingest_stats;
  httplib::Server server;
  std::thread thread;

  impl(caf::actor_system& s, caf::actor g, std::function<std::vector<ingest_stat>()> stats)
    : sys(s), gateway(std::move(g)), ingest_stats(std::move(stats)) {}

  bool ingest_ready() {
    auto xs = ingest_stats();
    return std::all_of(xs.begin(), xs.end(), [](const ingest_stat& x) { return x.running; });
  }

  /// Asks the gateway for every partition's status; nullopt (and `err`) on failure.
  std::optional<std::vector<partition_status>> statuses(caf::error& err) {
    caf::scoped_actor self{sys};
    std::optional<std::vector<partition_status>> out;
    self->request(gateway, ask_timeout, status_atom_v)
      .receive([&](std::vector<partition_status>& xs) { out = std::move(xs); },
               [&](caf::error& e) { err = std::move(e); });
    return out;
  }

  void routes() {
    server.Get("/livez", [](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, json{{"status", "live"}});
    });

    server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      caf::error err;
      auto st = statuses(err);
      if (!st) return send_error(res, 503, "not_ready", describe(err));
      bool recovered = std::all_of(st->begin(), st->end(), [](auto& s) { return s.recovered; });
      if (!recovered || !ingest_ready()) {
        res.set_header("Retry-After", "1");
        return send_error(res, 503, "recovering", "partitions are loading or ingestion is starting");
      }
      send_json(res, 200, json{{"status", "ready"}});
    });

    server.Get("/v1/admin/status", [this](const httplib::Request&, httplib::Response& res) {
      caf::error err;
      auto st = statuses(err);
      if (!st) return send_caf_error(res, err);
      json parts = json::array();
      outcome_counters totals;
      std::uint64_t active = 0, undecided = 0;
      auto ingest = ingest_stats();
      for (const auto& s : *st) {
        ingest_stat in;
        for (const auto& x : ingest)
          if (x.partition == s.partition) in = x;
        totals += s.outcomes;
        active += s.active_ads;
        undecided += s.undecided;
        parts.push_back({{"partition", s.partition},
                         {"recovered", s.recovered},
                         {"dispatched_seq", s.dispatched_seq},
                         {"durable_seq", s.durable_seq},
                         {"active_ads", s.active_ads},
                         {"passivated_ads", s.passivated},
                         {"checkpoints", s.checkpoints},
                         {"ingesting", in.running},
                         {"fetched_messages", in.fetched},
                         {"acked_messages", in.acked},
                         {"delivery_gaps", in.gaps},
                         {"unacked_messages", in.unacked},
                         {"outcomes", outcomes_json(s.outcomes)},
                         {"undecided", s.undecided}});
      }
      send_json(res, 200,
                json{{"partitions", parts},
                     {"active_ads", active},
                     {"outcomes", outcomes_json(totals)},
                     {"undecided", undecided},
                     {"arrived", totals.total() + undecided},
                     {"ingest_ready", ingest_ready()}});
    });

    server.Get(R"(/v1/ads/([^/]+)/clicks)", [this](const httplib::Request& req, httplib::Response& res) {
      series_query q;
      try {
        std::size_t used = 0;
        const std::string id = req.matches[1];
        q.ad_id = std::stoull(id, &used);
        if (used != id.size() || id[0] == '-') throw std::invalid_argument{id};
      } catch (...) {
        return send_error(res, 400, "bad_parameter", "ad_id must be an unsigned integer");
      }
      auto from = parse_time(req.get_param_value("from"));
      auto to = parse_time(req.get_param_value("to"));
      if (!from || !to)
        return send_error(res, 400, "bad_parameter",
                          "from and to are required: RFC 3339 (2026-11-28T10:00:00Z) or epoch ms");
      if (*from >= *to) return send_error(res, 400, "bad_parameter", "from must be before to");
      const std::string gran = req.has_param("granularity") ? req.get_param_value("granularity") : "minute";
      if (!from_string(gran, q.gran))
        return send_error(res, 400, "bad_parameter", "granularity must be minute, hour or day");
      const std::string view = req.has_param("view") ? req.get_param_value("view") : "live";
      if (view != "live" && view != "billing")
        return send_error(res, 400, "bad_parameter", "view must be live or billing");
      const bool billing = view == "billing";
      // Align to whole buckets of the requested granularity.
      const auto width = bucket_width(q.gran);
      q.from_ms = bucket_start(*from, width);
      q.to_ms = bucket_start(*to - 1, width) + width;
      if ((q.to_ms - q.from_ms) / minute_ms > max_query_minutes)
        return send_error(res, 400, "bad_parameter",
                          "range too wide: at most " + std::to_string(max_query_minutes) + " minutes");

      caf::scoped_actor self{sys};
      self->request(gateway, ask_timeout, q)
        .receive(
          [&](series& s) {
            auto points = rollup(s.points, q.gran);
            if (billing) {
              // Billable: a bucket all of whose minutes are final (an hour or a day only once
              // its last minute is), and never one with an open minute in it.
              const auto width = bucket_width(q.gran);
              points.erase(std::remove_if(points.begin(), points.end(),
                                          [&](const series_point& p) {
                                            return p.state == bucket_state::open ||
                                                   p.start_ms + width > s.final_before_ms;
                                          }),
                           points.end());
            }
            json out_series = json::array();
            for (const auto& p : points)
              out_series.push_back({{"start_ms", p.start_ms},
                                    {"count", p.count},
                                    {"state", to_string(p.state)},
                                    {"version", p.version}});
            send_json(res, 200,
                      json{{"ad_id", q.ad_id},
                           {"granularity", to_string(q.gran)},
                           {"view", view},
                           {"watermark_ms", s.watermark_ms},
                           {"series", out_series}});
          },
          [&](caf::error& err) { send_caf_error(res, err); });
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
      log_error("http_exception").kv("path", req.path).kv("error", what);
      send_error(res, 500, "internal", what);
    });
  }
};

http_api::http_api(caf::actor_system& sys, caf::actor gateway,
                   std::function<std::vector<ingest_stat>()> ingest_stats)
  : impl_(std::make_unique<impl>(sys, std::move(gateway), std::move(ingest_stats))) {
  impl_->server.set_tcp_nodelay(true);
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
