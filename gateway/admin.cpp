#include "gateway/admin.hpp"

#include <caf/all.hpp>
#include <caf/scoped_actor.hpp>

#include <algorithm>

#include "actors/core/event_clock.hpp"
#include "actors/core/rate_meter.hpp"
#include "common/errc.hpp"
#include "common/time.hpp"
#include "gateway/door.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

std::vector<std::string> readiness_problems(const std::vector<partition_status>& partitions,
                                            const outside_status& outside, std::int64_t max_age_ms,
                                            std::int64_t now) {
  std::vector<std::string> out;
  if (!outside.nats.connected)
    out.push_back("NATS connection lost (reconnecting; " + std::to_string(outside.nats.disconnects) +
                  " disconnects since start)");
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

namespace {

void put_outcomes(v1::Outcomes& out, const outcome_counters& c) {
  const auto* d = out.GetDescriptor();
  for (std::size_t i = 0; i < outcome_count; ++i)
    if (const auto* f = d->FindFieldByName(to_string(static_cast<outcome>(i))))  // every outcome has one (tested)
      out.GetReflection()->SetUInt64(&out, f, c.by_outcome[i]);
}

std::string time_or_empty(std::int64_t ms) { return ms == 0 ? std::string{} : format_time(ms); }

}  // namespace

v1::StatusReply status_reply(const std::vector<partition_status>& partitions, const outside_status& outside,
                             std::int64_t max_age_ms, std::uint32_t partitions_count, const window_rules& rules,
                             std::int64_t now) {
  v1::StatusReply out;
  out.set_partitions_count(partitions_count);
  outcome_counters totals, durable;
  std::uint64_t active = 0, passivated = 0, over_limit = 0, undecided = 0;
  dedup_memory dedup;
  for (const auto& s : partitions) {
    ingress_status in;
    for (const auto& x : outside.ingress)
      if (x.partition == s.partition) in = x;
    totals += s.outcomes;
    durable += s.durable_outcomes;
    active += s.active_ads;
    passivated += s.passivated;
    over_limit += s.passivated_over_limit;
    undecided += s.undecided;
    dedup += s.dedup;
    auto* p = out.add_partitions();
    p->set_partition(s.partition);
    p->set_recovered(s.recovered);
    p->set_dispatched_seq(s.dispatched_seq);
    p->set_durable_seq(s.durable_seq);
    p->set_stream_created(s.stream_created_ns == 0 ? std::string{} : format_time(s.stream_created_ns / 1'000'000));
    p->set_stream_created_ns(s.stream_created_ns);
    const bool has_watermark = s.watermark_ms > event_clock::no_watermark;
    p->set_watermark_ms(s.watermark_ms);
    p->set_watermark_lag_ms(has_watermark ? std::max<std::int64_t>(0, now - s.watermark_ms) : 0);
    p->set_durable_final_before_ms(s.durable_final_before_ms);
    // Behind the stream: not yet delivered, plus delivered and not yet durable (acked).
    const auto lag = in.pending + in.unacked;
    p->set_lag_messages(lag);
    const double per_message = s.messages_dispatched == 0 ? 1.0
                                                          : static_cast<double>(s.clicks_dispatched) /
                                                              static_cast<double>(s.messages_dispatched);
    p->set_lag_clicks_estimate(static_cast<std::uint64_t>(static_cast<double>(lag) * per_message + 0.5));
    p->set_owner_conflicts(s.owner_conflicts);
    p->set_active_ads(s.active_ads);
    p->set_passivated_ads(s.passivated);
    p->set_passivated_over_limit(s.passivated_over_limit);
    p->set_mailbox(s.mailbox);
    p->set_checkpoints(s.checkpoints);
    p->set_checkpoint_failures(s.checkpoint_failures);
    p->set_checkpoint_failing_since(time_or_empty(s.failing_since_ms));
    p->set_last_checkpoint_error(s.last_checkpoint_error);
    p->set_durable_age_ms(s.durable_at_ms == 0 ? 0 : now - s.durable_at_ms);
    p->set_last_checkpoint_write_ms(s.last_checkpoint_ms);
    p->set_checkpoint_in_flight_ms(s.in_flight_since_ms == 0 ? 0 : now - s.in_flight_since_ms);
    p->set_dlq_rows_waiting(s.outbox_pending);
    p->set_ingesting(in.running);
    p->set_halted(in.halted);
    p->set_fetched_messages(in.fetched);
    p->set_acked_messages(in.acked);
    p->set_delivery_gaps(in.gaps);
    p->set_consumer_recreated(in.consumer_recreated);
    p->set_missing_stream_seqs(in.missing);
    p->set_idle_markers(in.markers);
    p->set_unacked_messages(in.unacked);
    p->set_unacked_bytes(in.unacked_bytes);
    p->set_pending_messages(in.pending);
    put_outcomes(*p->mutable_outcomes(), s.outcomes);
    p->set_undecided(s.undecided);
    p->set_dedup_ids_in_memory(s.dedup.ids);
    p->set_dedup_bytes(s.dedup.bytes);
    p->set_open_clicks(s.dedup.open_clicks);
  }
  out.set_dedup_ids_in_memory(dedup.ids);
  out.set_dedup_bytes(dedup.bytes);
  out.set_open_clicks(dedup.open_clicks);
  out.set_active_ads(active);
  out.mutable_memory()->set_rss_bytes(outside.memory.rss_bytes);
  out.mutable_memory()->set_rss_anon_bytes(outside.memory.rss_anon_bytes);
  out.mutable_memory()->set_rss_file_bytes(outside.memory.rss_file_bytes);
  out.mutable_memory()->set_trims(outside.memory.trims);
  out.mutable_memory()->set_trimmed_bytes(outside.memory.trimmed_bytes);
  out.set_passivated_ads(passivated);
  out.set_passivated_over_limit(over_limit);
  put_outcomes(*out.mutable_outcomes(), totals);
  put_outcomes(*out.mutable_durable_outcomes(), durable);
  out.set_undecided(undecided);
  out.set_arrived(totals.total() + undecided);
  const auto problems = readiness_problems(partitions, outside, max_age_ms, now);
  out.set_ready(problems.empty());
  for (const auto& p : problems) out.add_not_ready_because(p);
  auto* ob = out.mutable_outbox();
  ob->set_published(outside.outbox.published);
  ob->set_already_published_at_start(outside.outbox.skipped);
  ob->set_failed_batches(outside.outbox.failures);
  ob->set_start_check_done(outside.outbox.scanned);
  ob->set_last_error(outside.outbox.last_error);
  auto* w = out.mutable_windows();
  w->set_max_out_of_orderness_ms(rules.max_out_of_orderness_ms);
  w->set_allowed_lateness_ms(rules.allowed_lateness_ms);
  w->set_max_future_skew_ms(rules.max_future_skew_ms);
  w->set_dedup_horizon_ms(rules.dedup_horizon_ms);
  auto* n = out.mutable_nats();
  n->set_connected(outside.nats.connected);
  n->set_disconnects(outside.nats.disconnects);
  n->set_reconnects(outside.nats.reconnects);
  const auto& sg = outside.storage;
  auto* st = out.mutable_storage();
  st->set_dedup_floor_ms(sg.dedup_floor_ms == window_rules::no_watermark ? 0 : sg.dedup_floor_ms);
  st->set_floor_held_by(sg.floor_held_by);
  st->set_purged_keys(sg.purged_keys);
  st->set_purged_bytes(sg.purged_bytes);
  st->set_passes(sg.passes);
  st->set_failures(sg.failures);
  st->set_last_pass_ms(sg.last_pass_ms);
  st->set_last_compaction_ms(sg.last_compaction_ms);
  st->set_last_error(sg.last_error);
  st->set_ids_bytes(sg.ids_bytes);
  st->set_filters_bytes(sg.filters_bytes);
  st->set_runs_bytes(sg.runs_bytes);
  st->set_counts_bytes(sg.counts_bytes);
  st->set_rollups_bytes(sg.rollups_bytes);
  st->set_total_bytes(sg.total_bytes);
  st->set_minutes_kept_from_ms(sg.minutes_kept_from_ms == window_rules::no_watermark ? 0 : sg.minutes_kept_from_ms);
  st->set_purged_count_keys(sg.purged_count_keys);
  return out;
}

v1::LagReply lag_reply(const v1::StatusReply& status) {
  v1::LagReply out;
  for (const auto& p : status.partitions()) {
    auto* l = out.add_partitions();
    l->set_partition(p.partition());
    l->set_lag_messages(p.lag_messages());
    l->set_lag_clicks_estimate(p.lag_clicks_estimate());
    l->set_watermark_lag_ms(p.watermark_lag_ms());
    out.set_max_lag_messages(std::max(out.max_lag_messages(), p.lag_messages()));
    out.set_max_watermark_lag_ms(std::max(out.max_watermark_lag_ms(), p.watermark_lag_ms()));
  }
  return out;
}

const google::protobuf::Message& admin_body(const v1::AdminResponse& r) {
  switch (r.reply_case()) {
    case v1::AdminResponse::kStatusReply: return r.status_reply();
    case v1::AdminResponse::kInspect: return r.inspect();
    case v1::AdminResponse::kHot: return r.hot();
    case v1::AdminResponse::kCheckpoint: return r.checkpoint();
    case v1::AdminResponse::kPassivate: return r.passivate();
    case v1::AdminResponse::kLag: return r.lag();
    default: return r;
  }
}

admin_verbs::admin_verbs(caf::actor_system& sys, caf::actor gateway, std::function<outside_status()> outside,
                         options opts)
  : sys_(sys), gateway_(std::move(gateway)), outside_(std::move(outside)), opts_(opts) {}

const std::vector<std::string>& admin_verbs::verbs() {
  static const std::vector<std::string> v{"status", "inspect", "hot", "checkpoint", "passivate", "lag"};
  return v;
}

namespace {

const std::string busy_text = std::to_string(max_changing_admin) +
                               " checkpoint or passivate requests are already waiting (a slow disk?): try again later";

v1::AdminResponse failure(int status, const std::string& code, const std::string& message) {
  v1::AdminResponse r;
  r.set_status(status);
  r.set_error_code(code);
  r.set_error(message);
  return r;
}

v1::AdminResponse failure(const caf::error& err) {
  auto e = error_of(err);
  return failure(e.status, e.code, e.message);
}

void fill(v1::InspectReply& out, const ad_status& s) {
  out.set_ad_id(s.ad_id);
  out.set_partition(s.partition);
  out.set_active(s.active);
  out.set_passivated(s.passivated);
  out.set_answered_from(s.active ? "memory" : "store");
  for (const auto& m : s.minutes) {
    auto* x = out.add_minutes();
    x->set_minute_ms(m.minute_ms);
    x->set_count(m.count);
    x->set_state(to_string(m.state));
    x->set_version(m.version);
  }
  out.set_ids_in_memory(s.ids_in_memory);
  out.set_id_bytes_in_memory(s.id_bytes);
  out.set_ids_on_disk(s.ids_on_disk);
  out.set_id_minutes_on_disk(s.id_minutes_on_disk);
  out.set_ids_on_disk_complete(s.ids_on_disk_complete);
  out.set_counted(s.counted);
  out.set_duplicates(s.duplicates);
  out.set_amended(s.amended);
  out.set_mailbox(s.mailbox);
  out.set_idle_ms(s.idle_ms);
  out.set_clicks_per_s(s.clicks_per_s);
  out.set_live_pending(s.live_pending);
  out.set_campaign_id(s.campaign_id);
  out.set_advertiser_id(s.advertiser_id);
  out.set_split_children(s.split_children);
}

}  // namespace

/// A slot among max_changing_admin, released when it goes; empty if none is free.
std::shared_ptr<void> admin_verbs::take_changing_slot() const {
  if (changing_.fetch_add(1) >= max_changing_admin) {
    changing_.fetch_sub(1);
    return nullptr;
  }
  // Not null (a null shared_ptr would read as "no slot"); the deleter frees the slot.
  return std::shared_ptr<void>(const_cast<admin_verbs*>(this), [this](void*) { changing_.fetch_sub(1); });
}

caf::expected<admin_verbs::snapshot> admin_verbs::take_snapshot() const {
  auto st = ask_gateway<std::vector<partition_status>>(sys_, gateway_, std::chrono::seconds(10), status_atom_v);
  if (!st) return st.error();
  snapshot out;
  out.status = status_reply(*st, outside_(), opts_.checkpoint_max_age_ms, opts_.partitions_count, opts_.rules, now_ms());
  out.partitions = std::move(*st);
  return out;
}

v1::AdminResponse admin_verbs::run(const v1::AdminRequest& req) const {
  using namespace std::chrono_literals;
  const auto& verb = req.verb();
  v1::AdminResponse out;
  if (verb == "status" || verb == "lag") {
    auto snap = take_snapshot();
    if (!snap) return failure(snap.error());
    if (verb == "lag") *out.mutable_lag() = lag_reply(snap->status);
    else *out.mutable_status_reply() = std::move(snap->status);
  } else if (verb == "inspect" || verb == "passivate") {
    if (!req.ad_id()) return failure(400, "bad_parameter", verb + " needs an ad id (ad_id)");
    if (verb == "passivate") {
      auto slot = take_changing_slot();
      if (!slot) return failure(503, "busy", busy_text);
    }
    if (verb == "inspect") {
      auto s = ask_gateway<ad_status>(sys_, gateway_, 10s, inspect_atom_v, req.ad_id());
      if (!s) return failure(s.error());
      fill(*out.mutable_inspect(), *s);
    } else {
      auto p = ask_gateway<passivate_report>(sys_, gateway_, 60s, passivate_atom_v, req.ad_id());
      if (!p) return failure(p.error());
      auto* x = out.mutable_passivate();
      x->set_ad_id(p->ad_id);
      x->set_partition(p->partition);
      x->set_was_active(p->was_active);
      x->set_durable_seq(p->durable_seq);
    }
  } else if (verb == "hot") {
    const auto k = req.k() == 0 ? 10u : req.k();
    if (k > 1000) return failure(400, "bad_parameter", "k must be between 1 and 1000");
    auto hot = ask_gateway<std::vector<hot_ad>>(sys_, gateway_, 10s, hot_atom_v, k);
    if (!hot) return failure(hot.error());
    auto* x = out.mutable_hot();
    x->set_k(k);
    x->set_window_ms(rate_meter::window_ms);
    for (const auto& h : *hot) {
      auto* a = x->add_ads();
      a->set_ad_id(h.ad_id);
      a->set_partition(h.partition);
      a->set_clicks_per_s(h.clicks_per_s);
    }
  } else if (verb == "checkpoint") {
    auto slot = take_changing_slot();
    if (!slot) return failure(503, "busy", busy_text);
    auto reports = ask_gateway<std::vector<checkpoint_report>>(sys_, gateway_, 65s, sync_atom_v);
    if (!reports) return failure(reports.error());
    auto* x = out.mutable_checkpoint();
    for (const auto& r : *reports) {
      auto* p = x->add_partitions();
      p->set_partition(r.partition);
      p->set_durable_seq(r.durable_seq);
      p->set_write_ms(r.write_ms);
      p->set_wrote(r.wrote);
    }
  } else {
    std::string known;
    for (const auto& v : verbs()) known += (known.empty() ? "" : ", ") + v;
    return failure(404, "not_found", "no admin verb '" + verb + "' (verbs: " + known + ")");
  }
  out.set_status(200);
  return out;
}

}  // namespace adclick
