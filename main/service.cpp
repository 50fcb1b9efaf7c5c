#include "main/service.hpp"

#include <caf/all.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "common/errc.hpp"
#include "common/fault_switch.hpp"
#include "common/log_limiter.hpp"
#include "common/process_memory.hpp"
#include "common/time.hpp"
#include "common/log.hpp"
#include "messages/type_ids.hpp"
#include "config/adclick_config.hpp"
#include "config/option_values.hpp"
#include "actors/checkpoint_writer.hpp"
#include "actors/retention_actor.hpp"
#include "gateway/nats/embedded_nats.hpp"
#include "gateway/gateway_actor.hpp"
#include "gateway/live_fanout.hpp"
#include "gateway/live_hub.hpp"
#include "gateway/query_timings.hpp"
#include "gateway/http/http_api.hpp"
#include "gateway/nats/query_responder.hpp"
#include "gateway/nats/nats_client.hpp"
#include "gateway/nats/outbox_publisher.hpp"
#include "gateway/nats/nats_ingress.hpp"
#include "main/systemd_notify.hpp"
#include "actors/partition_actor.hpp"
#include "persistence/store.hpp"

namespace adclick {

namespace {

using namespace std::chrono_literals;

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

caf::expected<std::unique_ptr<nats_connection>> connect_with_retry(const std::string& url, const std::string& token,
                                                                   std::chrono::seconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto nc = nats_connection::connect(url, "adclickd", token);
    if (nc || std::chrono::steady_clock::now() >= deadline) return nc;
    std::this_thread::sleep_for(250ms);
  }
}

/// Set by stop_finished(): the stop is over, the deadline no longer applies.
std::atomic<bool> stop_over{false};

/// Bounds the stop: if the process still runs `timeout` from now, it exits at once with
/// code 3 (a checkpoint write hung in fsync, a backlog the actors are still working
/// through). Nothing that was not durable was acked, so this is as safe as a kill, and the
/// broker delivers the rest again; unlike systemd's kill at TimeoutStopSec, the log says
/// why. Detached, so that it covers everything until main returns (the actor system's own
/// shutdown, LevelDB's close). A thread stuck in the kernel (a fsync the disk never
/// answers) delays any exit, this one and a kill -9 alike, until the kernel lets it go.
void arm_stop_deadline(caf::timespan timeout) {
  std::thread{[timeout] {
    std::this_thread::sleep_for(timeout);
    if (stop_over.load()) return;
    log_error("service", "stop_timeout")
      .kv("timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count())
      .kv("detail", "the final checkpoint and shutdown took longer than checkpoint.stop-timeout; exiting now: "
                    "what was not durable was not acked, and the broker delivers it again");
    std::_Exit(3);
  }}.detach();
}

/// Asks each partition to checkpoint and waits (bounded: 15 s, plus at most one status
/// request's 5 s) until everything dispatched is durable, so that a clean stop leaves
/// nothing to replay.
void final_checkpoint(caf::actor_system& sys, caf::actor gateway, const std::vector<caf::actor>& parts) {
  for (const auto& p : parts) caf::anon_send(p, checkpoint_atom_v);
  caf::scoped_actor self{sys};
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool done = false;
    self->request(gateway, 5s, status_atom_v)
      .receive(
        [&](std::vector<partition_status>& xs) {
          // (Status is answered ahead of queued batches: `mailbox`, counted from the
          // cursor, says whether any batch the ingress sent is still waiting.)
          done = std::all_of(xs.begin(), xs.end(), [](auto& s) {
            return s.mailbox == 0 && s.durable_seq == s.dispatched_seq && s.outbox_pending == 0 &&
                   s.carried == 0 && s.in_flight_since_ms == 0;
          });
        },
        [&](caf::error&) {});
    if (done) return;
    std::this_thread::sleep_for(20ms);
    for (const auto& p : parts) caf::anon_send(p, checkpoint_atom_v);
  }
  log_warn("service", "final_checkpoint_incomplete");
}

}  // namespace

void stop_finished() { stop_over.store(true); }

void block_stop_signals() {
  const sigset_t set = stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

namespace {

/// Refuses to count a stream that is not the one the stored positions count in (its
/// sequences restarted when it was recreated), unless ingest.accept-new-stream is on.
/// Returns the error text, empty if the service may start.
std::string check_stream_identity(store& db, const adclick_config& cfg, const stream_state& stream) {
  for (auto p : cfg.owned_partitions()) {
    auto pos = db.read_position(p);
    if (!pos) return describe(pos.error());
    if (pos->stream_created_ns == 0 || pos->stream_created_ns == stream.created_ns) continue;
    if (cfg.ingest_accept_new_stream) {
      log_warn("service", "stream_replaced_accepted")
        .kv("partition", p)
        .kv("stored_stream_created", format_time(pos->stream_created_ns / 1'000'000))
        .kv("stream_created", format_time(stream.created_ns / 1'000'000))
        .kv("stored_seq", pos->stream_seq);
      continue;
    }
    return std::string{"stream "} + subjects::clicks_stream + " was created at " +
           format_time(stream.created_ns / 1'000'000) + ", but the stored positions (partition " + std::to_string(p) +
           " at sequence " + std::to_string(pos->stream_seq) + ") count in the one created at " +
           format_time(pos->stream_created_ns / 1'000'000) +
           ": the stream was deleted and recreated, its sequences start again and the old messages are gone. "
           "Start with --ingest.accept-new-stream=true to count the new stream from its first message "
           "(stored counts and ids stay), or point nats.url at the right server";
  }
  return {};
}

}  // namespace

int run_service(caf::actor_system& sys, const adclick_config& cfg) {
  const sigset_t stop_signals = stop_signal_set();
  log_info("service", "starting")
    .kv("version", ADCLICK_VERSION)
    .kv("storage_dir", cfg.storage_dir)
    .kv("http", cfg.http_address)
    .kv("partitions", cfg.partitions_count)
    .kv("owned", cfg.owned_partitions().size());
  std::shared_ptr<fault_switch> faults;
  if (!cfg.testing_fault_file.empty()) {
    faults = std::make_shared<fault_switch>(cfg.testing_fault_file);
    log_warn("service", "fault_injection_enabled").kv("file", cfg.testing_fault_file);
  }

  // 1. Storage first: a locked or mismatched data directory is a clear, early error.
  store::options so;
  so.partitions = cfg.partitions_count;
  so.rules = cfg.rules();
  so.sync = cfg.storage_sync;
  so.faults = faults;
  auto db = store::open((std::filesystem::path{cfg.storage_dir} / "db").string(), so);
  if (!db) {
    log_error("service", "storage_open_failed").kv("error", describe(db.error()));
    return 1;
  }

  // 2. NATS: the configured server, or our own embedded one; the three streams.
  std::unique_ptr<embedded_nats> embedded;
  std::string url = cfg.nats_url;
  if (url.empty() && cfg.nats_embedded) {
    auto nats_dir = std::filesystem::path{cfg.storage_dir} / "nats";
    embedded = std::make_unique<embedded_nats>(cfg.nats_server_bin, cfg.nats_embedded_port,
                                               nats_dir.string(), (nats_dir / "nats-server.log").string());
    if (!embedded->start()) return 1;
    url = embedded->url();
  } else if (url.empty()) {
    url = "nats://127.0.0.1:4222";
  }
  auto nc = connect_with_retry(url, cfg.nats_token, 20s);
  if (!nc) {
    log_error("service", "nats_connect_failed").kv("url", redact_url(url)).kv("error", describe(nc.error()));
    return 1;
  }
  const subjects names{cfg.nats_prefix};
  const auto clicks_spec = clicks_stream_spec(names, cfg.partitions_count);
  auto clicks = (*nc)->ensure_stream(clicks_spec);
  if (!clicks) {
    log_error("service", "stream_setup_failed").kv("error", describe(clicks.error()));
    return 1;
  }
  for (const auto& spec : {finals_stream_spec(names), dlq_stream_spec(names)})
    if (auto s = (*nc)->ensure_stream(spec); !s) {
      log_error("service", "stream_setup_failed").kv("error", describe(s.error()));
      return 1;
    }
  if (auto problem = check_stream_identity(**db, cfg, *clicks); !problem.empty()) {
    log_error("service", "stream_identity_mismatch").kv("error", problem);
    return 1;
  }

  // 3. The outbox publisher (finals and DLQ, after each durable checkpoint), one
  //    checkpoint writer (own thread), one partition actor per owned partition, one gateway.
  outbox_publisher outbox{**nc, **db, cfg.owned_partitions(), names, faults};
  outbox.start();
  auto writer = sys.spawn<caf::detached>(checkpoint_writer, db->get(), std::function<void()>{[&outbox] { outbox.poke(); }});
  // Live updates: the hub (own thread) publishes to NATS and hands SSE sessions their events.
  live_fanout fanout{cfg.live_max_streams};
  live_hub_config lc;
  lc.db = db->get();
  lc.fanout = &fanout;
  lc.names = names;
  lc.partitions = static_cast<std::uint32_t>(cfg.owned_partitions().size());
  if (cfg.live_nats) {
    auto* conn = nc->get();  // lives until the end of run_service
    lc.publish = [conn](const std::string& subject, const std::string& payload) {
      if (auto err = conn->publish(subject, payload)) {
        static log_limiter limit{10'000};
        std::uint64_t held_back = 0;
        if (limit.allow(now_ms(), held_back))
          log_warn("service", "live_publish_failed").kv("error", describe(err)).kv("similar_lines_held_back", held_back);
      }
    };
  }
  auto hub = sys.spawn<caf::detached>(live_hub, lc);
  // Retention (own thread): the dedup state of minutes past dedup.horizon leaves the disk.
  retention_config rc;
  rc.db = db->get();
  rc.interval = cfg.retention_interval;
  rc.counts = cfg.count_retention_rules();
  rc.stats = std::make_shared<retention_stats>();
  auto retention = sys.spawn<caf::detached>(retention_actor, rc);
  std::map<std::uint32_t, caf::actor> owned;
  std::vector<caf::actor> partitions;
  std::vector<std::unique_ptr<nats_ingress>> ingress;
  for (auto p : cfg.owned_partitions()) {
    partition_config pc;
    pc.partition = p;
    pc.partitions = cfg.partitions_count;
    pc.db = db->get();
    pc.writer = writer;
    pc.cursor = std::make_shared<ack_cursor>();
    pc.checkpoint_interval = cfg.checkpoint_interval;
    pc.checkpoint_max_pending = cfg.checkpoint_max_pending;
    pc.checkpoint_max_pending_bytes = cfg.ingest_max_unacked_bytes / 2;
    pc.rules = cfg.rules();
    pc.retention = cfg.count_retention_rules();
    pc.names = names;
    pc.idle_timeout = cfg.actors_idle_timeout;
    // The node's limit shared by its partitions (each at least one actor).
    if (cfg.actors_max_active != 0)
      pc.max_active_ads = std::max<std::size_t>(1, (cfg.actors_max_active + cfg.owned_partitions().size() - 1) /
                                                     cfg.owned_partitions().size());
    pc.live_hub = hub;
    pc.live_interval = cfg.live_interval;
    if (!cfg.live_nats)  // only the ads SSE streams watch
      pc.live_wants = [&fanout](std::uint64_t ad) { return fanout.watching(entity::ad, ad); };
    auto cursor = pc.cursor;
    auto actor = sys.spawn(partition_actor, std::move(pc));
    owned.emplace(p, actor);
    partitions.push_back(actor);
    ingress_config ic;
    ic.partition = p;
    ic.stream = clicks_spec;
    ic.durable = subjects::consumer(p);
    ic.filter_subject = names.clicks(p);
    ic.fetch_batch = static_cast<int>(cfg.ingest_fetch_batch);
    ic.fetch_max_bytes = cfg.ingest_fetch_max_bytes;
    ic.max_ack_pending = cfg.ingest_max_ack_pending;
    ic.max_unacked_bytes = cfg.ingest_max_unacked_bytes;
    ic.ack_wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.ingest_ack_wait).count();
    ic.accept_new_stream = cfg.ingest_accept_new_stream;
    ic.idle_advance_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.windows_idle_advance).count();
    ingress.push_back(std::make_unique<nats_ingress>(**nc, actor, cursor, std::move(ic)));
  }
  auto gateway = sys.spawn(gateway_actor, cfg.partitions_count, owned, db->get(), cfg.count_retention_rules());

  // A watcher learns when any partition dies: that is fatal (nothing more may be acked).
  auto watcher = std::make_unique<caf::scoped_actor>(sys);
  for (const auto& p : partitions) (*watcher)->monitor(p);
  (*watcher)->monitor(gateway);  // without it no query, status or readiness answers
  for (auto& in : ingress) in->start();

  // 4. HTTP.
  auto* conn = nc->get();
  auto outside = [&ingress, &outbox, conn, stats = rc.stats, store = db->get()] {
    outside_status out;
    for (const auto& in : ingress) out.ingress.push_back(in->status());
    out.outbox = outbox.stats();
    out.nats = {conn->connected(), conn->disconnects(), conn->reconnects()};
    out.storage = stats->get();
    const auto disk = store->approximate_disk_usage();
    out.storage.ids_bytes = disk.ids;
    out.storage.filters_bytes = disk.filters;
    out.storage.runs_bytes = disk.runs;
    out.storage.counts_bytes = disk.counts;
    out.storage.rollups_bytes = disk.rollups;
    out.storage.total_bytes = disk.total;
    out.memory = read_process_memory();
    return out;
  };
  // The admin verbs, one implementation for the HTTP and NATS doors.
  admin_verbs::options ao;
  ao.checkpoint_max_age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.checkpoint_max_age).count();
  ao.partitions_count = cfg.partitions_count;
  ao.rules = cfg.rules();
  admin_verbs admin{sys, gateway, outside, ao};
  query_timings timings;
  http_api::options ho;
  ho.checkpoint_max_age_ms = ao.checkpoint_max_age_ms;
  ho.timings = &timings;
  ho.version = ADCLICK_VERSION;
  ho.live = &fanout;
  ho.live_heartbeat_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.live_heartbeat).count();
  ho.live_replay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.live_replay).count();
  http_api http{sys, gateway, outside, admin, ho};
  if (!http.start(cfg.http_host(), cfg.http_port())) {
    log_error("service", "http_bind_failed").kv("address", cfg.http_address);
    for (auto& in : ingress) in->stop();
    for (const auto& p : partitions) stop_at_once(p);
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(retention, caf::exit_reason::user_shutdown);
    watcher.reset();
    sys.await_all_actors_done();  // they use the store and the outbox below
    outbox.stop();
    return 1;
  }
  // The NATS query door: the same answers as HTTP, on <prefix>.query.<partition>.
  auto queries = std::make_unique<query_responder>(sys, gateway, **nc, names, &admin, &timings);
  std::vector<std::uint32_t> mine;
  for (const auto& [p, actor] : owned) mine.push_back(p);
  // HTTP answers meanwhile; the NATS door is retried every 5 s until it subscribes.
  auto start_queries = [&] {
    auto err = queries->start(mine);
    if (err) log_warn("service", "query_subscribe_failed").kv("error", describe(err)).kv("retry_in_s", 5);
    return !err;
  };
  bool queries_up = start_queries();
  auto queries_retry_at = std::chrono::steady_clock::now() + 5s;
  log_info("service", "serving").kv("http", "http://" + cfg.http_address).kv("nats", redact_url(url));
  if (cfg.http_host() != "127.0.0.1" && cfg.http_host() != "localhost" && cfg.http_host() != "::1")
    log_warn("service", "http_not_loopback")
      .kv("address", cfg.http_address)
      .kv("detail", "the API, including the admin verbs that checkpoint and passivate, is open to anyone who can "
                    "reach this address: there is no authentication yet (DESIGN 3.3 security.http-tokens)");

  // 5. Run until a stop signal or a fatal partition failure. Under systemd (Type=notify):
  //    READY=1 once every partition has recovered its stored state (not waiting for NATS:
  //    a broker that is down must not fail the start), then STATUS= with readiness, and
  //    WATCHDOG=1 only while the gateway and every partition answer a status, so that a
  //    hung actor system is restarted. Every 10 s, once a thousand ads or more have
  //    stopped since the last time, their free pages go back to the kernel; less often
  //    (up to every 5 min) while trims give back little. The trim runs on this thread,
  //    but it locks each arena while it walks it: a counting thread that needs one
  //    meanwhile waits, so a slow trim is logged as a warning.
  int exit_code = 0;
  std::chrono::seconds trim_every = 10s;
  auto next_trim = std::chrono::steady_clock::now() + trim_every;
  systemd_notifier notifier;
  bool notified_ready = false;
  std::string last_status;
  auto next_health = std::chrono::steady_clock::now();
  auto next_watchdog = std::chrono::steady_clock::now();
  const auto health_every = notifier.watchdog_interval().count() > 0
                              ? std::min<std::chrono::steady_clock::duration>(notifier.watchdog_interval(), 1s)
                              : std::chrono::steady_clock::duration{1s};
  for (bool running = true; running;) {
    timespec tick{0, 200'000'000};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      log_info("service", "stopping").kv("signal", sig);
      break;
    }
    (*watcher)->receive(
      [&](caf::down_msg& msg) {
        log_error("service", msg.source == gateway.address() ? "gateway_died" : "partition_died")
          .kv("reason", describe(msg.reason));
        exit_code = 1;
        running = false;
      },
      caf::after(std::chrono::milliseconds(0)) >> [] {});
    if (embedded) embedded->supervise();
    if (std::chrono::steady_clock::now() >= next_trim) {
      const auto t = trim_if_due(1000);
      if (t.trimmed)
        (t.ms > 100 ? log_warn("service", "memory_trimmed") : log_info("service", "memory_trimmed"))
          .kv("ads_stopped", t.objects)
          .kv("rss_before_mib", t.rss_before >> 20)
          .kv("rss_after_mib", t.rss_after >> 20)
          .kv("ms", static_cast<std::int64_t>(t.ms));
      trim_every = next_trim_interval(trim_every, t, 10s, 300s);
      next_trim = std::chrono::steady_clock::now() + trim_every;
    }
    if (!queries_up && std::chrono::steady_clock::now() >= queries_retry_at) {
      queries_up = start_queries();
      queries_retry_at = std::chrono::steady_clock::now() + 5s;
    }
    if (notifier.enabled() && std::chrono::steady_clock::now() >= next_health) {
      next_health = std::chrono::steady_clock::now() + health_every;
      if (auto snap = admin.take_snapshot()) {
        const auto& st = snap->status;
        const bool recovered = std::all_of(st.partitions().begin(), st.partitions().end(),
                                           [](const auto& p) { return p.recovered(); });
        std::string status = st.ready() ? "ready" : "not ready: " + st.not_ready_because(0);
        if (recovered && !notified_ready) {
          notified_ready = notifier.send("READY=1\nSTATUS=" + status);
          last_status = status;
        } else if (notified_ready && status != last_status) {
          notifier.send("STATUS=" + status);
          last_status = status;
        }
        if (notifier.watchdog_interval().count() > 0 && std::chrono::steady_clock::now() >= next_watchdog) {
          notifier.send("WATCHDOG=1");
          next_watchdog = std::chrono::steady_clock::now() + notifier.watchdog_interval();
        }
      }
    }
  }
  notifier.send("STOPPING=1");
  arm_stop_deadline(cfg.checkpoint_stop_timeout);

  // 6. Shut down in reverse: no more queries, no more fetching, a last checkpoint.
  fanout.close_all();  // SSE streams end, so that the HTTP threads can be joined
  http.stop();
  queries.reset();
  for (auto& in : ingress) in->request_stop();  // all at once: each may be inside a fetch
  for (auto& in : ingress) in->stop();
  if (exit_code == 0) final_checkpoint(sys, gateway, partitions);
  // Ahead of what is queued: a partition (and then its ads) would first work through every
  // batch in its mailbox, which no checkpoint will make durable any more.
  for (const auto& p : partitions) stop_at_once(p);
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(retention, caf::exit_reason::user_shutdown);
  // Actors use the store, the outbox publisher and the NATS connection, which die with this
  // scope: wait for them (a live scoped actor would deadlock the wait, so the watcher goes
  // first). Rows the publisher has not sent stay in the outbox for the next start.
  watcher.reset();
  sys.await_all_actors_done();
  outbox.stop();
  log_info("service", "stopped").kv("exit_code", exit_code);
  return exit_code;
}

}  // namespace adclick
