// query, verify and wait: the CLI commands that read the service over HTTP.
#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "actors/core/rollup.hpp"
#include "common/time.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/sse_reader.hpp"
#include "tools/truth.hpp"

namespace adclick {

namespace {

using json = nlohmann::json;

std::optional<json> get_json(http_client& http, const std::string& path, std::string& error) {
  auto res = http.get(path);
  if (res.status == 0) {
    error = "request failed: " + res.error;
    return std::nullopt;
  }
  try {
    auto body = json::parse(res.body);
    if (res.status != 200) {
      error = "HTTP " + std::to_string(res.status) + ": " + body.value("/error/message"_json_pointer, res.body);
      return std::nullopt;
    }
    return body;
  } catch (const std::exception& e) {
    error = "HTTP " + std::to_string(res.status) + ", not JSON: " + res.body.substr(0, 200);
    return std::nullopt;
  }
}

/// Compares an ad's hours or days with its truth minutes rolled up (actors/core/rollup.hpp,
/// the reference the stored rollups must equal), at the service's final_before. With
/// `allow_idle_final`, a minute the truth leaves open counts as final once that
/// final_before has passed it (the idle advance closed it). Appends differences to `diffs`.
void compare_rolled(http_client& http, std::uint64_t ad, const std::vector<series_point>& minutes, granularity g,
                    const std::string& view, bool allow_idle_final, std::vector<std::string>& diffs,
                    std::string* canonical) {
  const auto width = bucket_width(g);
  const auto from = bucket_start(minutes.front().start_ms, width);
  const auto to = bucket_start(minutes.back().start_ms, width) + width;
  std::string error;
  auto body = get_json(http,
                       "/v1/ads/" + std::to_string(ad) + "/clicks?from=" + std::to_string(from) + "&to=" +
                         std::to_string(to) + "&granularity=" + to_string(g) + "&view=" + view,
                       error);
  if (!body) {
    diffs.push_back("ad " + std::to_string(ad) + ": " + error);
    return;
  }
  const auto final_before = (*body)["final_before_ms"].get<std::int64_t>();
  auto truth_minutes = minutes;
  if (allow_idle_final)
    for (auto& m : truth_minutes)
      if (m.state == bucket_state::open && m.start_ms + minute_ms <= final_before) {
        m.state = bucket_state::final;
        m.version = 1;
      }
  auto describe_point = [](const series_point& p) {
    return std::to_string(p.count) + " " + to_string(p.state) + " v" + std::to_string(p.version);
  };
  std::map<std::int64_t, std::string> want, have;
  for (const auto& p : rollup(truth_minutes, g, final_before))
    if (view != "billing" || p.state != bucket_state::open) want[p.start_ms] = describe_point(p);
  for (const auto& p : (*body)["series"]) {
    series_point x;
    x.start_ms = p["start_ms"].get<std::int64_t>();
    x.count = p["count"].get<std::uint64_t>();
    const auto state = p["state"].get<std::string>();
    x.state = state == "open" ? bucket_state::open : state == "final" ? bucket_state::final : bucket_state::amended;
    x.version = p["version"].get<std::uint32_t>();
    have[x.start_ms] = describe_point(x);
    if (canonical) *canonical += std::to_string(ad) + " " + std::to_string(x.start_ms) + " " + describe_point(x) + "\n";
  }
  for (const auto& [start, w] : want) {
    auto h = have.find(start);
    if (h == have.end() || h->second != w)
      diffs.push_back("ad " + std::to_string(ad) + " " + to_string(g) + " " + format_time(start) + ": expected " + w +
                      ", got " + (h == have.end() ? std::string{"nothing"} : h->second));
    if (h != have.end()) have.erase(h);
  }
  for (const auto& [start, h] : have)
    diffs.push_back("ad " + std::to_string(ad) + " " + to_string(g) + " " + format_time(start) +
                    ": expected nothing, got " + h);
}

/// Compares the service with the truth; appends one line per difference to `diffs`.
/// Live: every bucket with its count, state and version. Billing: exactly the buckets the
/// truth says are final or amended, with theirs. At hour or day granularity, the truth
/// rolled up (compare_rolled).
void compare(http_client& http, const truth& t, const std::string& view, bool allow_idle_final,
             std::vector<std::string>& diffs, std::string* canonical = nullptr,
             granularity g = granularity::minute) {
  const bool billing = view == "billing";
  auto expected_in_view = [&](const expected_bucket& b) { return !billing || b.state() != bucket_state::open; };
  // One range query per ad, covering its first to last minute.
  auto it = t.counts.begin();
  while (it != t.counts.end()) {
    const auto ad = it->first.first;
    auto end = it;
    std::int64_t last_minute = it->first.second;
    while (end != t.counts.end() && end->first.first == ad) last_minute = (end++)->first.second;
    if (g != granularity::minute) {
      std::vector<series_point> minutes;
      for (auto e = it; e != end; ++e)
        minutes.push_back({e->first.second, e->second.count, e->second.state(), e->second.version()});
      compare_rolled(http, ad, minutes, g, view, allow_idle_final, diffs, canonical);
      it = end;
      continue;
    }
    std::string error;
    auto body = get_json(http,
                         "/v1/ads/" + std::to_string(ad) + "/clicks?from=" + std::to_string(it->first.second) +
                           "&to=" + std::to_string(last_minute + minute_ms) + "&view=" + view,
                         error);
    if (!body) {
      diffs.push_back("ad " + std::to_string(ad) + ": " + error);
      it = end;
      continue;
    }
    struct seen {
      std::uint64_t count;
      std::string state;
      std::uint32_t version;
    };
    std::map<std::int64_t, seen> got;
    for (const auto& p : (*body)["series"]) {
      got[p["start_ms"].get<std::int64_t>()] = {p["count"].get<std::uint64_t>(), p["state"].get<std::string>(),
                                                p["version"].get<std::uint32_t>()};
      if (canonical)
        *canonical += std::to_string(ad) + " " + std::to_string(p["start_ms"].get<std::int64_t>()) + " " +
                      std::to_string(p["count"].get<std::uint64_t>()) + " " + p["state"].get<std::string>() + " " +
                      std::to_string(p["version"].get<std::uint32_t>()) + "\n";
    }
    auto describe_bucket = [](std::uint64_t count, const std::string& state, std::uint32_t version) {
      return std::to_string(count) + " " + state + " v" + std::to_string(version);
    };
    for (auto e = it; e != end; ++e) {
      const auto& b = e->second;
      auto g = got.find(e->first.second);
      // An open bucket the service's idle advance finalized: the same count, final v1.
      const auto idle_final = describe_bucket(b.count, "final", 1);
      const bool may_be_idle_final = allow_idle_final && b.state() == bucket_state::open;
      if (!expected_in_view(b) && !(may_be_idle_final && g != got.end())) continue;
      const auto want = describe_bucket(b.count, to_string(b.state()), b.version());
      const auto have = g == got.end() ? std::string{"nothing"} : describe_bucket(g->second.count, g->second.state, g->second.version);
      if (want != have && !(may_be_idle_final && have == idle_final))
        diffs.push_back("ad " + std::to_string(ad) + " minute " + format_time(e->first.second) + ": expected " + want +
                        ", got " + have);
      if (g != got.end()) got.erase(g);
    }
    for (const auto& [minute, s] : got)
      diffs.push_back("ad " + std::to_string(ad) + " minute " + format_time(minute) + ": expected nothing, got " +
                      describe_bucket(s.count, s.state, s.version));
    it = end;
  }
  std::string error;
  auto status = get_json(http, "/v1/admin/status", error);
  if (!status) {
    diffs.push_back("status: " + error);
    return;
  }
  for (std::size_t i = 0; i < outcome_count; ++i) {
    auto name = to_string(static_cast<outcome>(i));
    auto have = (*status)["outcomes"].value(name, std::uint64_t{0});
    if (have != t.outcomes.by_outcome[i])
      diffs.push_back(std::string{"outcome "} + name + ": expected " + std::to_string(t.outcomes.by_outcome[i]) +
                      ", got " + std::to_string(have));
  }
}

/// SHA-256 of `text` as 64 hex digits.
std::string sha256_hex(const std::string& text) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  std::string out;
  char hex[3];
  for (unsigned char b : md) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    out += hex;
  }
  return out;
}

}  // namespace

int run_query(const query_options& opts) {
  http_client http{opts.http};
  std::string error;
  auto body = get_json(http,
                       "/v1/ads/" + std::to_string(opts.ad) + "/clicks?from=" + opts.from + "&to=" + opts.to +
                         "&granularity=" + opts.granularity + "&view=" + opts.view,
                       error);
  if (!body) {
    std::fprintf(stderr, "query: %s\n", error.c_str());
    return 1;
  }
  if (opts.json) {
    std::printf("%s\n", body->dump(2).c_str());
    return 0;
  }
  std::printf("ad %llu, %s, view=%s\n", static_cast<unsigned long long>(opts.ad), opts.granularity.c_str(),
              opts.view.c_str());
  std::printf("%-26s %12s  %-8s %s\n", "bucket start (UTC)", "count", "state", "version");
  std::uint64_t total = 0;
  for (const auto& p : (*body)["series"]) {
    total += p["count"].get<std::uint64_t>();
    std::printf("%-26s %12llu  %-8s %u\n", format_time(p["start_ms"].get<std::int64_t>()).c_str(),
                static_cast<unsigned long long>(p["count"].get<std::uint64_t>()),
                p["state"].get<std::string>().c_str(), p["version"].get<unsigned>());
  }
  std::printf("%-26s %12llu\n", "total", static_cast<unsigned long long>(total));
  return 0;
}

int run_top(const top_options& opts) {
  http_client http{opts.http};
  std::string error;
  auto body = get_json(http,
                       "/v1/top?from=" + opts.from + "&to=" + opts.to + "&k=" + std::to_string(opts.k) + "&by=" + opts.by +
                         "&view=" + opts.view,
                       error);
  if (!body) {
    std::fprintf(stderr, "top: %s\n", error.c_str());
    return 1;
  }
  if (opts.json) {
    std::printf("%s\n", body->dump(2).c_str());
    return 0;
  }
  std::printf("top %u %ss, %s to %s, view=%s\n", opts.k, opts.by.c_str(),
              format_time((*body)["from_ms"].get<std::int64_t>()).c_str(),
              format_time((*body)["to_ms"].get<std::int64_t>()).c_str(), opts.view.c_str());
  std::printf("%5s %20s %14s\n", "rank", opts.by.c_str(), "clicks");
  int rank = 0;
  for (const auto& e : (*body)["top"])
    std::printf("%5d %20llu %14llu\n", ++rank, static_cast<unsigned long long>(e["id"].get<std::uint64_t>()),
                static_cast<unsigned long long>(e["count"].get<std::uint64_t>()));
  return 0;
}

int run_tail(const tail_options& opts) {
  std::string query;
  for (auto [name, ids] : {std::pair{"ads", &opts.ads}, std::pair{"campaigns", &opts.campaigns},
                           std::pair{"advertisers", &opts.advertisers}})
    if (!ids->empty()) query += (query.empty() ? "?" : "&") + std::string{name} + "=" + *ids;
  if (query.empty()) {
    std::fprintf(stderr, "tail: name --ads, --campaigns or --advertisers\n");
    return 2;
  }
  http_client http{opts.http};
  sse_reader reader;
  std::uint64_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(opts.seconds);
  auto res = http.stream("/v1/stream" + query, opts.last_event_id, [&](const std::string& chunk) {
    for (const auto& e : reader.feed(chunk)) {
      if (e.event != "count") continue;
      ++seen;
      if (opts.json) {
        std::printf("%s\n", e.data.c_str());
      } else {
        auto j = nlohmann::json::parse(e.data, nullptr, false);
        if (j.is_discarded()) continue;
        std::printf("%s  %-10s %12llu  minute %s  %10llu  %-7s v%u\n", e.id.c_str(),
                    j["kind"].get<std::string>().c_str(), static_cast<unsigned long long>(j["id"].get<std::uint64_t>()),
                    format_time(j["bucket_start_ms"].get<std::int64_t>()).c_str(),
                    static_cast<unsigned long long>(j["count"].get<std::uint64_t>()), j["state"].get<std::string>().c_str(),
                    j["version"].get<unsigned>());
      }
      std::fflush(stdout);
      if (opts.events != 0 && seen >= opts.events) return false;
    }
    return opts.seconds <= 0 || std::chrono::steady_clock::now() < deadline;
  });
  if (res.status != 200) {
    std::fprintf(stderr, "tail: %s\n", res.status == 0 ? res.error.c_str() : res.body.c_str());
    return 1;
  }
  return 0;
}

int run_verify(const verify_options& opts) {
  truth t;
  for (const auto& file : opts.truth) {
    std::string error;
    auto one = truth::load(file, error);
    if (!one) {
      std::fprintf(stderr, "verify: %s\n", error.c_str());
      return 2;
    }
    t.merge(*one);
  }
  return verify_truth(t, opts, "verify");
}

int verify_truth(const truth& t, const verify_options& opts, const char* who) {
  http_client http{opts.http};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(opts.wait_s);
  for (;;) {
    std::vector<std::string> diffs;
    std::string canonical;
    granularity g = granularity::minute;
    from_string(opts.granularity, g);
    compare(http, t, opts.view, opts.allow_idle_final, diffs, opts.digest ? &canonical : nullptr, g);
    if (diffs.empty()) {
      std::printf("%s: OK: %zu (ad, minute) buckets and %llu clicks match (view=%s%s)\n", who, t.counts.size(),
                  static_cast<unsigned long long>(t.clicks), opts.view.c_str(),
                  opts.granularity == "minute" ? "" : (", rolled up by " + opts.granularity).c_str());
      if (opts.digest) std::printf("digest: %s\n", sha256_hex(canonical).c_str());
      return 0;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::printf("%s: %zu differences (view=%s)\n", who, diffs.size(), opts.view.c_str());
      for (std::size_t i = 0; i < diffs.size() && i < 50; ++i) std::printf("  %s\n", diffs[i].c_str());
      if (diffs.size() > 50) std::printf("  ... and %zu more\n", diffs.size() - 50);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int run_wait(const wait_options& opts) {
  http_client http{opts.http};
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::duration<double>(opts.timeout_s);
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string error;
    if (auto s = get_json(http, "/v1/admin/status", error)) {
      bool settled = (*s)["arrived"].get<std::uint64_t>() >= opts.arrived;
      for (const auto& p : (*s)["partitions"])
        settled = settled && p["recovered"] == true && p["durable_seq"] == p["dispatched_seq"] &&
                  p["unacked_messages"] == 0;
      if (settled) {
        std::printf("%.3f\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        return 0;
      }
    } else {
      last_error = error;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "wait: timed out %s\n", last_error.c_str());
  return 1;
}

}  // namespace adclick
