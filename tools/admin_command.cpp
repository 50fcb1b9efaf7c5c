// adclick admin <verb>: the admin verbs over HTTP (default) or NATS request/reply (--nats),
// printed as a table, or as the service's JSON with --json. Both doors give the same
// JSON (over NATS the AdminResponse is turned into it by messages/proto_json), so one
// renderer serves both.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "adclick/v1/admin.pb.h"
#include "common/errc.hpp"
#include "common/time.hpp"
#include "gateway/admin.hpp"
#include "gateway/nats/nats_client.hpp"
#include "messages/proto_json.hpp"
#include "messages/subjects.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"

namespace adclick {

namespace {

using json = nlohmann::json;

/// A plain text table: columns padded to their widest cell.
class table {
 public:
  explicit table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string str() const {
    std::vector<std::size_t> width;
    for (const auto& r : rows_)
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (width.size() <= i) width.push_back(0);
        width[i] = std::max(width[i], r[i].size());
      }
    std::ostringstream out;
    for (const auto& r : rows_) {
      for (std::size_t i = 0; i < r.size(); ++i) {
        out << r[i];
        if (i + 1 < r.size()) out << std::string(width[i] - r[i].size() + 2, ' ');
      }
      out << "\n";
    }
    return out.str();
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string num(const json& v) {
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v.get<double>());
    return buf;
  }
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

/// "1.5 s", "250 ms", "3 min", "-" for 0.
std::string span(std::int64_t ms) {
  if (ms <= 0) return "-";
  char buf[32];
  if (ms < 1000) std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
  else if (ms < 120'000) std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000);
  else std::snprintf(buf, sizeof buf, "%.1f min", static_cast<double>(ms) / 60'000);
  return buf;
}

/// "counted 10, duplicate 2, late_amended 0, rejected: malformed 1": zero rejections left out.
std::string outcomes_line(const json& outcomes) {
  std::string out, rejected;
  for (const auto& name : {"counted", "duplicate", "late_amended"})
    if (outcomes.contains(name)) out += (out.empty() ? "" : ", ") + std::string{name} + " " + num(outcomes[name]);
  for (const auto& [name, n] : outcomes.items())
    if (name != "counted" && name != "duplicate" && name != "late_amended" && n.get<std::uint64_t>() != 0)
      rejected += (rejected.empty() ? "" : ", ") + name + " " + num(n);
  return out + (rejected.empty() ? "" : ", rejected: " + rejected);
}

std::string render_status(const json& s) {
  std::ostringstream out;
  out << "ready: " << (s["ready"].get<bool>() ? "yes" : "no") << "\n";
  for (const auto& why : s["not_ready_because"]) out << "  not ready: " << why.get<std::string>() << "\n";
  out << "nats: " << (s["nats"]["connected"].get<bool>() ? "connected" : "DISCONNECTED") << ", "
      << num(s["nats"]["reconnects"]) << " reconnects\n";
  out << "arrived " << num(s["arrived"]) << ": " << outcomes_line(s["outcomes"]) << ", undecided "
      << num(s["undecided"]) << "\n";
  out << "ads: " << num(s["active_ads"]) << " active, " << num(s["passivated_ads"]) << " passivated since start\n\n";
  table t{{"PART", "RECOVERED", "DURABLE_SEQ", "LAG_MSGS", "LAG_CLICKS~", "WATERMARK", "WM_LAG", "CKPT_AGE",
           "LAST_WRITE", "FAILURES", "ACTIVE", "PASSIVATED", "MAILBOX", "ERROR"}};
  for (const auto& p : s["partitions"]) {
    const auto wm = p["watermark_ms"].get<std::int64_t>();
    t.add({num(p["partition"]), num(p["recovered"]), num(p["durable_seq"]), num(p["lag_messages"]),
           num(p["lag_clicks_estimate"]), wm > 0 ? format_time(wm) : "-", span(p["watermark_lag_ms"].get<std::int64_t>()),
           span(p["durable_age_ms"].get<std::int64_t>()),
           p["checkpoints"].get<std::uint64_t>() == 0 ? "-" : p["last_checkpoint_write_ms"].get<std::int64_t>() == 0
                                                                  ? "<1 ms"
                                                                  : span(p["last_checkpoint_write_ms"].get<std::int64_t>()),
           num(p["checkpoint_failures"]), num(p["active_ads"]), num(p["passivated_ads"]), num(p["mailbox"]),
           p["halted"].get<std::string>().empty() ? p["last_checkpoint_error"].get<std::string>()
                                                  : p["halted"].get<std::string>()});
  }
  out << t.str();
  return out.str();
}

std::string render_inspect(const json& s) {
  std::ostringstream out;
  out << "ad " << num(s["ad_id"]) << " (partition " << num(s["partition"]) << "): "
      << (s["active"].get<bool>() ? "active, answered from memory" : "passivated, answered from the store") << "\n";
  out << "campaign " << num(s["campaign_id"]) << ", advertiser " << num(s["advertiser_id"]) << "\n";
  if (s["active"].get<bool>()) {
    out << "since its actor started: counted " << num(s["counted"]) << ", duplicates " << num(s["duplicates"])
        << ", amended " << num(s["amended"]) << "\n";
    out << "rate " << num(s["clicks_per_s"]) << " clicks/s, idle " << span(s["idle_ms"].get<std::int64_t>())
        << ", mailbox " << num(s["mailbox"]) << ", live updates pending " << num(s["live_pending"]) << "\n";
    out << "ids in memory " << num(s["ids_in_memory"]) << " (" << num(s["id_bytes_in_memory"]) << " bytes)\n";
  }
  out << "ids on disk " << (s["ids_on_disk_complete"].get<bool>() ? "" : "at least ") << num(s["ids_on_disk"]) << " in "
      << num(s["id_minutes_on_disk"]) << " minutes\n";
  out << "hot split: " << (s["split_children"].get<std::uint32_t>() == 0 ? std::string{"no"} : num(s["split_children"]) + " children") << "\n\n";
  table t{{"MINUTE", "COUNT", "STATE", "VERSION"}};
  for (const auto& m : s["minutes"])
    t.add({format_time(m["minute_ms"].get<std::int64_t>()), num(m["count"]), num(m["state"]), num(m["version"])});
  out << (s["active"].get<bool>() ? "minutes in memory:\n" : "stored minutes (last 2 h):\n") << t.str();
  return out.str();
}

std::string render(const std::string& verb, const json& s) {
  if (verb == "status") return render_status(s);
  if (verb == "inspect") return render_inspect(s);
  if (verb == "hot") {
    table t{{"AD", "PARTITION", "CLICKS/S"}};
    for (const auto& a : s["ads"]) t.add({num(a["ad_id"]), num(a["partition"]), num(a["clicks_per_s"])});
    return t.str() + "(rates over about the last " + span(s["window_ms"].get<std::int64_t>()) + ")\n";
  }
  if (verb == "checkpoint") {
    table t{{"PARTITION", "DURABLE_SEQ", "WROTE", "WRITE"}};
    for (const auto& p : s["partitions"])
      t.add({num(p["partition"]), num(p["durable_seq"]), num(p["wrote"]), span(p["write_ms"].get<std::int64_t>())});
    return t.str() + "durable\n";
  }
  if (verb == "passivate")
    return "ad " + num(s["ad_id"]) +
           (s["was_active"].get<bool>() ? " passivated: its actor stopped with its state durable up to stream sequence " +
                                            num(s["durable_seq"])
                                        : " had no actor: nothing to do") +
           "\n";
  if (verb == "lag") {
    table t{{"PARTITION", "LAG_MSGS", "LAG_CLICKS~", "WM_LAG"}};
    for (const auto& p : s["partitions"])
      t.add({num(p["partition"]), num(p["lag_messages"]), num(p["lag_clicks_estimate"]),
             span(p["watermark_lag_ms"].get<std::int64_t>())});
    return t.str() + "max: " + num(s["max_lag_messages"]) + " messages, watermark " +
           span(s["max_watermark_lag_ms"].get<std::int64_t>()) + " behind\n";
  }
  return s.dump(2) + "\n";
}

}  // namespace

int run_admin(const admin_options& opts) {
  int status = 0;
  std::string body, error_text;
  if (!opts.nats.empty()) {
    // A server with token auth: the token from the environment, as adclickd takes it.
    const char* token = std::getenv("ADCLICK_NATS_TOKEN");
    auto nc = nats_connection::connect(opts.nats, "adclick-admin", token ? token : "");
    if (!nc) {
      std::cerr << "adclick admin: " << describe(nc.error()) << "\n";
      return 2;
    }
    v1::AdminRequest req;
    req.set_verb(opts.verb);
    req.set_ad_id(opts.ad);
    req.set_k(opts.k);
    auto reply = (*nc)->request(subjects{opts.prefix}.admin(opts.verb), req.SerializeAsString(), 70'000);
    v1::AdminResponse r;
    if (!reply || !r.ParseFromString(*reply)) {
      std::cerr << "adclick admin: no answer on " << subjects{opts.prefix}.admin(opts.verb) << ": "
                << (reply ? "not an AdminResponse" : describe(reply.error())) << "\n";
      return 2;
    }
    status = static_cast<int>(r.status());
    if (status == 200) body = to_json(admin_body(r));
    else error_text = r.error();
  } else {
    http_client client{opts.http};
    std::string path = "/v1/admin/" + opts.verb;
    std::string query;
    if (opts.ad != 0) query += "ad=" + std::to_string(opts.ad);
    if (opts.verb == "hot") query += std::string{query.empty() ? "" : "&"} + "k=" + std::to_string(opts.k);
    if (!query.empty()) path += "?" + query;
    const bool changes = opts.verb == "checkpoint" || opts.verb == "passivate";
    auto res = changes ? client.post(path) : client.get(path);
    if (res.status == 0) {
      std::cerr << "adclick admin: " << opts.http << ": " << res.error << "\n";
      return 2;
    }
    status = res.status;
    if (status == 200) {
      body = std::move(res.body);
    } else {
      try {
        auto e = json::parse(res.body);
        error_text = e["error"]["message"].get<std::string>();
      } catch (...) {
        error_text = res.body;
      }
    }
  }
  if (status != 200) {
    std::cerr << "adclick admin " << opts.verb << ": " << status << " " << error_text << "\n";
    return 1;
  }
  if (opts.json) {
    std::cout << body << "\n";
    return 0;
  }
  std::cout << render(opts.verb, json::parse(body));
  return 0;
}

}  // namespace adclick
