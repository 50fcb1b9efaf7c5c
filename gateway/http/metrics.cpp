#include "gateway/http/metrics.hpp"

#include <limits>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace adclick {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric value(double v, std::vector<ClientMetric::Label> labels = {}, MetricType type = MetricType::Gauge) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) m.counter.value = v;
  else m.gauge.value = v;
  return m;
}

ClientMetric histogram(const histogram_counts& h, const std::vector<double>& bounds,
                       std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    m.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  m.histogram.bucket.push_back({h.total, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = h.total;
  m.histogram.sample_sum = h.sum;
  return m;
}

/// A gauge or counter with one series per partition.
MetricFamily per_partition(std::string name, std::string help, MetricType type, const v1::StatusReply& s,
                           double (*of)(const v1::PartitionStatus&)) {
  auto f = family(std::move(name), std::move(help), type);
  for (const auto& p : s.partitions()) f.metric.push_back(value(of(p), {{"partition", std::to_string(p.partition())}}, type));
  return f;
}

}  // namespace

std::string render_metrics(const metrics_input& in) {
  const auto& s = in.status;
  std::vector<MetricFamily> out;
  auto gauge = [&](std::string name, std::string help, double v) {
    auto f = family(std::move(name), std::move(help), MetricType::Gauge);
    f.metric.push_back(value(v));
    out.push_back(std::move(f));
  };
  auto counter = [&](std::string name, std::string help, double v) {
    auto f = family(std::move(name), std::move(help), MetricType::Counter);
    f.metric.push_back(value(v, {}, MetricType::Counter));
    out.push_back(std::move(f));
  };

  auto info = family("adclick_build_info", "The adclickd build: its version (git describe).", MetricType::Gauge);
  info.metric.push_back(value(1, {{"version", in.version}}));
  out.push_back(std::move(info));
  gauge("adclick_ready", "1 when /readyz answers 200: every partition recovered, bound and checkpointing.",
        s.ready() ? 1 : 0);

  // Every arrival ends in exactly one outcome: counted, duplicate, late_amended (an
  // amendment), or rejected with a reason.
  // The durable totals: they never go back, also after a crash (the live totals include
  // decisions a crash takes back and the replay makes again).
  auto clicks = family("adclick_clicks_total", "Clicks by outcome (and reason, when rejected), as durably checkpointed.",
                       MetricType::Counter);
  for (std::size_t i = 0; i < outcome_count; ++i) {
    const auto o = static_cast<outcome>(i);
    const std::string name = to_string(o);
    const bool rejected = o != outcome::counted && o != outcome::duplicate && o != outcome::late_amended;
    const auto* f = s.durable_outcomes().GetDescriptor()->FindFieldByName(name);
    const double n = f ? static_cast<double>(s.durable_outcomes().GetReflection()->GetUInt64(s.durable_outcomes(), f)) : 0.0;
    clicks.metric.push_back(value(n,
                                  {{"outcome", rejected ? "rejected" : name}, {"reason", rejected ? name : ""}},
                                  MetricType::Counter));
  }
  out.push_back(std::move(clicks));
  gauge("adclick_clicks_undecided", "Clicks handed to their ads whose outcome the next checkpoint reports.",
        static_cast<double>(s.undecided()));

  out.push_back(per_partition("adclick_consumer_lag_messages",
                              "Messages of the partition's subject in the stream not yet durably counted.",
                              MetricType::Gauge, s, [](const v1::PartitionStatus& p) { return double(p.lag_messages()); }));
  out.push_back(per_partition("adclick_consumer_lag_clicks",
                              "Clicks not yet durably counted, estimated from the clicks per message seen.",
                              MetricType::Gauge, s,
                              [](const v1::PartitionStatus& p) { return double(p.lag_clicks_estimate()); }));
  out.push_back(per_partition("adclick_watermark_lag_seconds", "The wall clock minus the partition's watermark.",
                              MetricType::Gauge, s,
                              [](const v1::PartitionStatus& p) { return double(p.watermark_lag_ms()) / 1000; }));
  out.push_back(per_partition("adclick_checkpoint_age_seconds",
                              "Since everything the partition dispatched was last known durable.", MetricType::Gauge, s,
                              [](const v1::PartitionStatus& p) { return double(p.durable_age_ms()) / 1000; }));
  out.push_back(per_partition("adclick_checkpoints_total", "Durable checkpoints.", MetricType::Counter, s,
                              [](const v1::PartitionStatus& p) { return double(p.checkpoints()); }));
  out.push_back(per_partition("adclick_checkpoint_failures_total", "Checkpoint writes that failed (nothing acked).",
                              MetricType::Counter, s,
                              [](const v1::PartitionStatus& p) { return double(p.checkpoint_failures()); }));
  out.push_back(per_partition("adclick_partition_recovered", "1 once the partition has recovered its stored state.",
                              MetricType::Gauge, s, [](const v1::PartitionStatus& p) { return p.recovered() ? 1.0 : 0.0; }));
  out.push_back(per_partition("adclick_stream_messages_fetched_total", "JetStream messages fetched since start.",
                              MetricType::Counter, s,
                              [](const v1::PartitionStatus& p) { return double(p.fetched_messages()); }));
  out.push_back(per_partition("adclick_stream_messages_acked_total",
                              "JetStream messages acked (after a durable checkpoint) since start.", MetricType::Counter,
                              s, [](const v1::PartitionStatus& p) { return double(p.acked_messages()); }));
  out.push_back(per_partition("adclick_unacked_bytes",
                              "Decoded clicks fetched and not yet acked (ingest.max-unacked-bytes bounds it).",
                              MetricType::Gauge, s, [](const v1::PartitionStatus& p) { return double(p.unacked_bytes()); }));
  out.push_back(per_partition("adclick_delivery_gaps_total", "Lost deliveries detected and re-fetched.",
                              MetricType::Counter, s, [](const v1::PartitionStatus& p) { return double(p.delivery_gaps()); }));

  auto mailbox = family("adclick_mailbox_depth",
                        "Ingest batches (one per JetStream fetch) waiting in a partition actor's mailbox; its other "
                        "messages (ad replies, queries, admin) are not counted.",
                        MetricType::Gauge);
  for (const auto& p : s.partitions())
    mailbox.metric.push_back(
      value(double(p.mailbox()), {{"actor", "partition"}, {"partition", std::to_string(p.partition())}}));
  out.push_back(std::move(mailbox));

  auto cp = family("adclick_checkpoint_duration_seconds", "How long durable checkpoint writes took, all partitions.",
                   MetricType::Histogram);
  histogram_counts all;
  all.counts.assign(checkpoint_seconds_bounds().size() + 1, 0);
  for (const auto& p : in.partitions) {
    for (std::size_t i = 0; i < p.checkpoint_seconds.counts.size() && i < all.counts.size(); ++i)
      all.counts[i] += p.checkpoint_seconds.counts[i];
    all.sum += p.checkpoint_seconds.sum;
    all.total += p.checkpoint_seconds.total;
  }
  cp.metric.push_back(histogram(all, checkpoint_seconds_bounds()));
  out.push_back(std::move(cp));

  auto q = family("adclick_query_duration_seconds", "Query and admin latency by endpoint, as the door measured it.",
                  MetricType::Histogram);
  for (const auto& [endpoint, h] : in.queries) q.metric.push_back(histogram(h, in.query_bounds, {{"endpoint", endpoint}}));
  out.push_back(std::move(q));

  gauge("adclick_active_ads", "Ad actors in memory.", double(s.active_ads()));
  gauge("adclick_dedup_memory_bytes", "Memory of the active ads' dedup state (id sets, filters), as of their last flushes.",
        double(s.dedup_bytes()));
  gauge("adclick_dedup_ids_in_memory", "Click ids the active ads keep exactly in memory.", double(s.dedup_ids_in_memory()));
  gauge("adclick_open_clicks", "Clicks counted in open minutes of active ads: the ids dedup answers for in memory.",
        double(s.open_clicks()));
  counter("adclick_passivated_ads_total", "Ad actors stopped since start (idle or asked), their state durable.",
          double(s.passivated_ads()));
  gauge("adclick_sse_clients", "Open Server-Sent Event streams (/v1/stream).", double(in.sse_clients));
  gauge("adclick_nats_connected", "1 while the NATS connection is up.", s.nats().connected() ? 1 : 0);
  counter("adclick_nats_disconnects_total", "Times the NATS connection was lost since start.", double(s.nats().disconnects()));
  counter("adclick_nats_reconnects_total", "Times the NATS connection was re-established since start.",
          double(s.nats().reconnects()));
  {
    // The parts only (a total beside them would double a sum()): other = every other row.
    auto disk = family("adclick_store_bytes", "The store's size on disk by kind of row (LevelDB's estimate of its files).",
                       MetricType::Gauge);
    const auto& st = s.storage();
    const auto parts = st.ids_bytes() + st.runs_bytes() + st.filters_bytes() + st.counts_bytes() + st.rollups_bytes();
    for (const auto& [kind, bytes] : {std::pair<const char*, std::uint64_t>{"ids", st.ids_bytes()},
                                      {"runs", st.runs_bytes()},
                                      {"filters", st.filters_bytes()},
                                      {"counts", st.counts_bytes()},
                                      {"rollups", st.rollups_bytes()},
                                      {"other", st.total_bytes() > parts ? st.total_bytes() - parts : 0}})
      disk.metric.push_back(value(double(bytes), {{"kind", kind}}));
    out.push_back(std::move(disk));
    gauge("adclick_dedup_floor_timestamp_seconds",
          "Minutes before this hold no dedup state (the lowest partition's retention floor); 0 until a pass found one.",
          double(st.dedup_floor_ms()) / 1000);
    counter("adclick_retention_passes_total", "Retention passes completed since start.", double(st.passes()));
    counter("adclick_retention_purged_keys_total", "Id chunks and filters deleted by retention since start.",
            double(st.purged_keys()));
    counter("adclick_retention_purged_bytes_total", "Bytes of the id chunks and filters deleted since start.",
            double(st.purged_bytes()));
    counter("adclick_retention_purged_count_keys_total",
            "Count rows, their expiry rows, group shares and rankings deleted by retention since start.",
            double(st.purged_count_keys()));
    gauge("adclick_counts_kept_from_timestamp_seconds",
          "Minute buckets before this are past retention.minute (the lowest partition's); 0 until known.",
          double(st.minutes_kept_from_ms()) / 1000);
    counter("adclick_retention_failures_total", "Retention passes that failed (retried at the next interval).",
            double(st.failures()));
    gauge("adclick_retention_last_pass_duration_seconds",
          "How long the last retention pass took, deletes and compaction.", double(st.last_pass_ms()) / 1000);
  }
  counter("adclick_outbox_published_total", "Final counts and DLQ rows published from the outbox since start.",
          double(s.outbox().published()));
  counter("adclick_outbox_failed_batches_total", "Outbox batches that had to be published again.",
          double(s.outbox().failed_batches()));
  return prometheus::TextSerializer{}.Serialize(out);
}

}  // namespace adclick
