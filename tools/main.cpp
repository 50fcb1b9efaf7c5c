// adclick: the command-line tool (load generator, query, verify, benchmark helpers).
#include <iostream>

#include <CLI/CLI.hpp>

#include "tools/commands.hpp"

int main(int argc, char** argv) {
  using namespace adclick;
  CLI::App app{"adclick: load, query and verify the adclick service"};
  app.require_subcommand(1);

  load_options load;
  auto* l = app.add_subcommand("load", "publish generated clicks to JetStream and write the ground truth");
  l->add_option("--nats", load.nats, "NATS URL")->capture_default_str();
  l->add_option("--prefix", load.prefix, "subject prefix")->capture_default_str();
  l->add_option("--partitions", load.partitions, "partition count of the stream")->capture_default_str();
  l->add_option("--clicks", load.clicks, "clicks to publish")->capture_default_str();
  l->add_option("--ads", load.ads, "distinct ads (ids 1..N)")->capture_default_str();
  l->add_option("--batch", load.batch, "clicks per NATS message (1 = one click per message)")->capture_default_str();
  l->add_option("--rate", load.rate, "clicks per second, 0 = as fast as possible")->capture_default_str();
  l->add_option("--zipf", load.zipf, "Zipf skew of ad popularity, 0 = uniform")->capture_default_str();
  l->add_option("--seed", load.seed, "random seed")->capture_default_str();
  l->add_option("--start-ms", load.start_ms, "event time of the first click (epoch ms), 0 = now")->capture_default_str();
  l->add_option("--event-rate", load.event_rate, "clicks per second of event time")->capture_default_str();
  l->add_option("--dup-rate", load.dup_rate, "share of publishes that repeat an earlier click of this run")
    ->capture_default_str();
  l->add_option("--dup-window", load.dup_window,
                "repeat only clicks among the last N generated (0: any of the run); bounded memory")
    ->capture_default_str();
  l->add_option("--ooo-rate", load.ooo_rate, "share of clicks out of order (within max-out-of-orderness)")
    ->capture_default_str();
  l->add_option("--late-rate", load.late_rate, "share of clicks for an already final minute (amendments)")
    ->capture_default_str();
  l->add_option("--future-rate", load.future_rate, "share of clicks a day in the future (rejected)")->capture_default_str();
  l->add_option("--malformed-rate", load.malformed_rate, "share of publishes that are garbage bytes")->capture_default_str();
  l->add_option("--wrong-partition-rate", load.wrong_partition_rate,
                "share of clicks published on another partition's subject (rejected)")
    ->capture_default_str();
  l->add_option("--clock-skew-ms", load.clock_skew_ms,
                "the publisher's clock is this far ahead of the real one (negative: behind); event times follow it")
    ->capture_default_str();
  l->add_option("--publish-delay-ms", load.publish_delay_ms,
                "wait this long between building each message and publishing it (a slow link to the broker)")
    ->capture_default_str();
  l->add_option("--ooo-ms", load.ooo_ms, "the service's windows.max-out-of-orderness, in ms")->capture_default_str();
  l->add_option("--lateness-ms", load.lateness_ms, "the service's windows.allowed-lateness, in ms")->capture_default_str();
  l->add_option("--horizon-ms", load.horizon_ms, "the service's dedup.horizon, in ms")->capture_default_str();
  l->add_option("--future-skew-ms", load.future_skew_ms, "the service's windows.max-future-skew, in ms")
    ->capture_default_str();
  l->add_flag("--replay", load.replay,
              "the same seed and --start-ms were published before: the truth expects every click as a duplicate");
  l->add_option("--id-layout", load.id_layout,
                "random: 16 random bytes per id; sequenced: 8 bytes of minter and its count of the ad's clicks")
    ->check(CLI::IsMember({"random", "sequenced"}))
    ->capture_default_str();
  l->add_option("--minters", load.minters, "with --id-layout sequenced: the ad servers minting ids")
    ->check(CLI::Range(1u, 4096u))
    ->capture_default_str();
  l->add_option("--truth", load.truth, "write the ground truth to this file");
  l->add_flag("--quiet", load.quiet, "no progress lines");

  query_options query;
  auto* q = app.add_subcommand("query", "print one ad's click series");
  q->add_option("--http", query.http, "service URL")->capture_default_str();
  q->add_option("--ad", query.ad, "ad id")->required();
  q->add_option("--from", query.from, "start: RFC 3339 or epoch ms")->required();
  q->add_option("--to", query.to, "end (exclusive): RFC 3339 or epoch ms")->required();
  q->add_option("--granularity", query.granularity, "minute, hour or day")->capture_default_str();
  q->add_option("--view", query.view, "live or billing")->capture_default_str();
  q->add_flag("--json", query.json, "print the JSON response");

  verify_options verify;
  top_options top;
  auto* tp = app.add_subcommand("top", "print the exact top-K ads, campaigns or advertisers of a range");
  tp->add_option("--http", top.http, "service URL")->capture_default_str();
  tp->add_option("--from", top.from, "start: RFC 3339 or epoch ms")->required();
  tp->add_option("--to", top.to, "end (exclusive): RFC 3339 or epoch ms")->required();
  tp->add_option("--k", top.k, "how many (1..1000)")->capture_default_str();
  tp->add_option("--by", top.by, "ad, campaign or advertiser")->capture_default_str();
  tp->add_option("--view", top.view, "live or billing")->capture_default_str();
  tp->add_flag("--json", top.json, "print the JSON response");

  tail_options tail;
  auto* tl = app.add_subcommand("tail", "print live updates of ads, campaigns or advertisers as they come");
  tl->add_option("--http", tail.http, "service URL")->capture_default_str();
  tl->add_option("--ads", tail.ads, "comma-separated ad ids");
  tl->add_option("--campaigns", tail.campaigns, "comma-separated campaign ids");
  tl->add_option("--advertisers", tail.advertisers, "comma-separated advertiser ids");
  tl->add_option("--last-event-id", tail.last_event_id, "resume after this event id");
  tl->add_option("--events", tail.events, "stop after this many events (0: run until stopped)");
  tl->add_option("--seconds", tail.seconds, "stop after this many seconds (0: run until stopped)");
  tl->add_flag("--json", tail.json, "print each event's JSON");

  bench_read_options br;
  auto* b = app.add_subcommand("bench-read", "benchmark: query and click-to-live latencies (JSON)");
  b->add_option("--http", br.http, "service URL")->capture_default_str();
  b->add_option("--nats", br.nats, "NATS URL (live probes)")->capture_default_str();
  b->add_option("--iterations", br.iterations, "requests per query kind")->capture_default_str();
  b->add_option("--ad", br.ad, "the ad of the one-ad queries")->capture_default_str();
  b->add_flag("!--no-queries", br.queries, "skip the query latencies");
  b->add_option("--probes", br.probes, "click-to-live probes (0: none)")->capture_default_str();
  b->add_option("--probe-ad", br.probe_ad, "the ad the probes click")->capture_default_str();
  b->add_option("--probe-interval-ms", br.probe_interval_ms, "time between probes")->capture_default_str();
  b->add_option("--partitions", br.partitions, "partitions.count of the service")->capture_default_str();
  b->add_option("--seed", br.seed, "varies the probes' click ids")->capture_default_str();

  auto* v = app.add_subcommand("verify", "compare the service with ground truth; exit 1 on any difference");
  v->add_option("--http", verify.http, "service URL")->capture_default_str();
  v->add_option("--truth", verify.truth, "truth file(s) written by load; several are merged")->required();
  v->add_option("--view", verify.view, "live or billing")->capture_default_str();
  v->add_option("--wait", verify.wait_s, "retry for up to this many seconds until it matches")->capture_default_str();
  v->add_option("--granularity", verify.granularity,
                "minute, or hour or day: the truth rolled up (minutes past retention.minute are refused)")
    ->check(CLI::IsMember({"minute", "hour", "day"}))
    ->capture_default_str();
  v->add_flag("--digest", verify.digest, "print a SHA-256 of the view (every bucket of the truth's ads)");
  v->add_flag("--allow-idle-final", verify.allow_idle_final,
              "a bucket the truth leaves open may be final v1 (the service's idle advance closed it)");

  admin_options admin;
  auto* ad = app.add_subcommand("admin", "operate the service: status, inspect AD, hot, checkpoint, passivate AD, lag");
  ad->add_option("verb", admin.verb, "status, inspect, hot, checkpoint, passivate or lag")
    ->required()
    ->check(CLI::IsMember({"status", "inspect", "hot", "checkpoint", "passivate", "lag"}));
  ad->add_option("ad", admin.ad, "the ad of inspect and passivate");
  ad->add_option("--http", admin.http, "service URL")->capture_default_str();
  ad->add_option("--nats", admin.nats, "ask over NATS request/reply (adclick.admin.<verb>) at this URL instead");
  ad->add_option("--prefix", admin.prefix, "subject prefix (with --nats)")->capture_default_str();
  ad->add_option("--k", admin.k, "hot: how many ads (1..1000)")->capture_default_str();
  ad->add_flag("--json", admin.json, "print the service's JSON answer");

  wait_options wait;
  auto* w = app.add_subcommand("wait", "wait until N clicks are accounted for, checkpointed and acked");
  w->add_option("--http", wait.http, "service URL")->capture_default_str();
  w->add_option("--arrived", wait.arrived, "clicks to wait for")->required();
  w->add_option("--timeout", wait.timeout_s, "seconds")->capture_default_str();

  null_consume_options null_consume;
  auto* n = app.add_subcommand("null-consume", "benchmark: fetch, decode and ack the stream, nothing else");
  n->add_option("--nats", null_consume.nats, "NATS URL")->capture_default_str();
  n->add_option("--prefix", null_consume.prefix, "subject prefix")->capture_default_str();
  n->add_option("--partitions", null_consume.partitions, "partition count")->capture_default_str();
  n->add_option("--messages", null_consume.messages, "messages to consume")->required();
  n->add_option("--timeout", null_consume.timeout_s, "seconds")->capture_default_str();

  reconcile_options reconcile;
  auto* r = app.add_subcommand("reconcile",
                               "replay the stream through the counting code into a scratch store and compare it with the "
                               "service's billing view; exit 1 on any difference");
  r->add_option("--nats", reconcile.nats, "NATS URL")->capture_default_str();
  r->add_option("--http", reconcile.http, "service URL")->capture_default_str();
  r->add_option("--prefix", reconcile.prefix, "subject prefix")->capture_default_str();
  r->add_option("--from", reconcile.from, "compare buckets from this time (RFC 3339 or epoch ms)");
  r->add_option("--to", reconcile.to, "compare buckets before this time");
  r->add_option("--wait", reconcile.wait_s, "seconds to wait for the service to have checkpointed what it read")
    ->capture_default_str();
  r->add_flag("--keep", reconcile.keep, "keep the scratch store");
  r->add_option("--granularity", reconcile.granularity,
                "minute, or hour or day: the replay rolled up (minutes past retention.minute are refused)")
    ->check(CLI::IsMember({"minute", "hour", "day"}))
    ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (*r) return run_reconcile(reconcile);
  if (*ad) {
    if ((admin.verb == "inspect" || admin.verb == "passivate") && admin.ad == 0) {
      std::cerr << "adclick admin " << admin.verb << ": name the ad (adclick admin " << admin.verb << " AD)\n";
      return 2;
    }
    return run_admin(admin);
  }
  if (*l) return run_load(load);
  if (*q) return run_query(query);
  if (*tp) return run_top(top);
  if (*tl) return run_tail(tail);
  if (*b) return run_bench_read(br);
  if (*v) return run_verify(verify);
  if (*w) return run_wait(wait);
  if (*n) return run_null_consume(null_consume);
  return 2;
}
