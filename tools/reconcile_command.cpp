// adclick reconcile: the stream, replayed through the same counting code (the partition
// and ad actors, the checkpoint writer, a store) into a scratch directory, compared with
// what the service bills. Every decision of the service is a function of the stream (its
// messages, their order and publish times, the idle-advance markers in it) and of the
// window rules it reports, so the two must agree bucket for bucket.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include <caf/all.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/checkpoint_writer.hpp"
#include "actors/partition_actor.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/time.hpp"
#include "gateway/nats/nats_client.hpp"
#include "gateway/nats/nats_ingress.hpp"
#include "messages/type_ids.hpp"
#include "persistence/store.hpp"
#include "tools/commands.hpp"
#include "tools/http_client.hpp"
#include "tools/truth.hpp"

namespace adclick {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct replay_config : caf::actor_system_config {
  replay_config() {
    add_message_types<caf::id_block::adclick>();
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

/// What the service says about itself: where each partition stands and its rules.
struct service_view {
  std::uint32_t partitions_count = 0;
  window_rules rules;
  std::map<std::uint32_t, std::pair<std::uint64_t, std::int64_t>> positions;  ///< partition -> (durable seq, stream)
  outcome_counters outcomes;
};

std::optional<service_view> read_service(http_client& http, double wait_s, std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  for (;;) {
    auto res = http.get("/v1/admin/status");
    if (res.status == 200) {
      auto j = json::parse(res.body);
      bool settled = true;
      service_view v;
      v.partitions_count = j.at("partitions_count").get<std::uint32_t>();
      const auto& w = j.at("windows");
      v.rules.max_out_of_orderness_ms = w.at("max_out_of_orderness_ms");
      v.rules.allowed_lateness_ms = w.at("allowed_lateness_ms");
      v.rules.dedup_horizon_ms = w.at("dedup_horizon_ms");
      v.rules.max_future_skew_ms = w.at("max_future_skew_ms");
      for (const auto& p : j.at("partitions")) {
        settled = settled && p.at("recovered") == true && p.at("durable_seq") == p.at("dispatched_seq") &&
                  p.at("unacked_messages") == 0;
        v.positions[p.at("partition").get<std::uint32_t>()] = {p.at("durable_seq").get<std::uint64_t>(),
                                                              p.at("stream_created_ns").get<std::int64_t>()};
      }
      for (std::size_t i = 0; i < outcome_count; ++i)
        v.outcomes.by_outcome[i] = j.at("outcomes").value(to_string(static_cast<outcome>(i)), std::uint64_t{0});
      settled = settled && j.at("undecided") == 0;
      if (settled) return v;
      error = "the service has not checkpointed everything it read";
    } else {
      error = res.status == 0 ? res.error : "HTTP " + std::to_string(res.status) + ": " + res.body;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(200ms);
  }
}

}  // namespace

/// One replay to where the service stood (`seen`) and one comparison: 0 the same, 1
/// differences, 2 could not tell.
static int replay_and_compare(const reconcile_options& opts, const service_view& seen) {
  auto view = seen;  // (positions[] below)
  auto* service = &view;
  auto nc = nats_connection::connect(opts.nats, "adclick-reconcile");
  if (!nc) {
    std::fprintf(stderr, "reconcile: %s\n", describe(nc.error()).c_str());
    return 2;
  }
  const subjects names{opts.prefix};
  const auto spec = clicks_stream_spec(names, service->partitions_count);
  auto stream = (*nc)->stream_info(spec.name);
  if (!stream) {
    std::fprintf(stderr, "reconcile: %s\n", describe(stream.error()).c_str());
    return 2;
  }
  for (const auto& [p, pos] : service->positions)
    if (pos.second != 0 && pos.second != stream->created_ns) {
      std::fprintf(stderr, "reconcile: partition %u counts in another stream than %s has now\n", p, spec.name.c_str());
      return 2;
    }

  // The scratch store and the same actors, fed by consumers of our own.
  const auto scratch = std::filesystem::temp_directory_path() / ("adclick-reconcile-" + std::to_string(::getpid()));
  std::filesystem::remove_all(scratch);
  store::options so;
  so.partitions = service->partitions_count;
  so.rules = service->rules;
  so.sync = false;
  auto db = store::open(scratch.string(), so);
  if (!db) {
    std::fprintf(stderr, "reconcile: %s\n", describe(db.error()).c_str());
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  outcome_counters replayed;
  bool done = false;
  {
    replay_config cfg;
    caf::actor_system sys{cfg};
    auto writer = sys.spawn<caf::detached>(checkpoint_writer, db->get(), std::function<void()>{});
    std::vector<caf::actor> partitions;
    std::vector<std::unique_ptr<nats_ingress>> ingress;
    for (const auto& [p, pos] : service->positions) {
      partition_config pc;
      pc.partition = p;
      pc.partitions = service->partitions_count;
      pc.db = db->get();
      pc.writer = writer;
      pc.cursor = std::make_shared<ack_cursor>();
      pc.checkpoint_interval = 200ms;
      pc.rules = service->rules;
      pc.names = names;
      auto cursor = pc.cursor;
      partitions.push_back(sys.spawn(partition_actor, std::move(pc)));
      if (pos.first == 0) continue;
      ingress_config ic;
      ic.partition = p;
      ic.stream = spec;
      ic.durable = "adclick-reconcile-" + std::to_string(::getpid()) + "-p" + std::to_string(p);
      ic.filter_subject = names.clicks(p);
      ic.stop_at_seq = pos.first;  // exactly as far as the service has counted
      ingress.push_back(std::make_unique<nats_ingress>(**nc, partitions.back(), cursor, ic));
      ingress.back()->start();
    }
    // Wait until every partition has checkpointed what it was sent, as long as the replay
    // makes progress.
    caf::scoped_actor self{sys};
    std::uint64_t last_progress = 0;
    auto progressed_at = std::chrono::steady_clock::now();
    while (!done && std::chrono::steady_clock::now() - progressed_at < 60s) {
      std::this_thread::sleep_for(100ms);
      std::uint64_t progress = 0;
      for (const auto& in : ingress) progress += in->status().last_forwarded;
      if (progress != last_progress) {
        last_progress = progress;
        progressed_at = std::chrono::steady_clock::now();
      }
      done = std::all_of(ingress.begin(), ingress.end(), [](const auto& in) { return in->done(); });
      replayed = {};
      for (std::size_t i = 0; done && i < partitions.size(); ++i) {
        caf::anon_send(partitions[i], checkpoint_atom_v);
        self->request(partitions[i], 10s, status_atom_v)
          .receive(
            [&](partition_status& s) {
              const auto target = service->positions[s.partition].first;
              done = done && s.dispatched_seq == target && s.durable_seq == target && s.undecided == 0;
              replayed += s.outcomes;
            },
            [&](caf::error&) { done = false; });
      }
    }
    for (auto& in : ingress) {
      in->stop();
      (*nc)->delete_consumer(spec.name, "adclick-reconcile-" + std::to_string(::getpid()) + "-p" +
                                          std::to_string(in->partition()));
    }
    for (auto& p : partitions) caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }
  if (!done) {
    db->reset();
    std::filesystem::remove_all(scratch);
    std::fprintf(stderr, "reconcile: the replay stopped short of where the service stands (messages removed from "
                         "the stream?)\n");
    return 2;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // What the replay bills, as the truth the service is compared with.
  auto from = opts.from.empty() ? std::optional<std::int64_t>{INT64_MIN} : parse_time(opts.from);
  auto to = opts.to.empty() ? std::optional<std::int64_t>{INT64_MAX} : parse_time(opts.to);
  if (!from || !to) {
    std::fprintf(stderr, "reconcile: --from and --to take RFC 3339 or epoch ms\n");
    return 2;
  }
  truth expected;
  std::size_t buckets = 0;
  if (auto err = (*db)->scan_all_minutes([&](std::uint64_t ad, const minute_count& m) {
        ++buckets;
        if (m.minute_ms < *from || m.minute_ms >= *to) return;
        // Open buckets are not billed, but they widen the range compared for their ad, so a
        // billed bucket that the replay leaves open is reported.
        auto& b = expected.counts[{ad, m.minute_ms}];
        b.count = m.count;
        b.final = m.state != bucket_state::open;
        b.amendments = m.state == bucket_state::amended ? m.version - 1 : 0;
      })) {
    std::fprintf(stderr, "reconcile: %s\n", describe(err).c_str());
    return 2;
  }
  expected.outcomes = replayed;
  expected.clicks = replayed.total();
  std::fprintf(stderr, "reconcile: replayed %llu arrivals into %zu buckets in %.1f s\n",
               static_cast<unsigned long long>(replayed.total()), buckets, secs);
  db->reset();
  if (opts.keep) std::fprintf(stderr, "reconcile: scratch store kept in %s\n", scratch.c_str());
  else std::filesystem::remove_all(scratch);
  verify_options vo;
  vo.http = opts.http;
  vo.view = "billing";
  vo.granularity = opts.granularity;
  return verify_truth(expected, vo, "reconcile");
}

int run_reconcile(const reconcile_options& opts) {
  set_logging(false);  // the actors' and ingress's lines are the service's business
  http_client http{opts.http};
  // The service may move on while the replay runs (an idle-advance marker finalizes a
  // minute; a late click): its billing view is then ahead of the replay, and the
  // differences say nothing. If its positions moved, replay again to where it stands now.
  for (int round = 1;; ++round) {
    std::string error;
    auto service = read_service(http, opts.wait_s, error);
    if (!service) {
      std::fprintf(stderr, "reconcile: %s\n", error.c_str());
      return 2;
    }
    const int rc = replay_and_compare(opts, *service);
    if (rc != 1 || round == 3) return rc;
    auto now = read_service(http, opts.wait_s, error);
    if (!now || now->positions == service->positions) return rc;  // it stood still: the differences are real
    std::fprintf(stderr, "reconcile: the service moved on during the replay (an idle marker, a late click); again\n");
  }
}

}  // namespace adclick
