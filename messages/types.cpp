#include "messages/types.hpp"

namespace adclick {

const char* to_string(outcome x) {
  switch (x) {
    case outcome::counted: return "counted";
    case outcome::duplicate: return "duplicate";
    case outcome::late_amended: return "late_amended";
    case outcome::rejected_malformed: return "malformed";
    case outcome::rejected_bad_id: return "bad_id";
    case outcome::rejected_future: return "future";
    case outcome::rejected_too_old: return "too_old";
    case outcome::rejected_signature: return "signature";
    case outcome::rejected_wrong_partition: return "wrong_partition";
  }
  return "?";
}

std::uint64_t outcome_counters::total() const {
  std::uint64_t sum = 0;
  for (auto n : by_outcome) sum += n;
  return sum;
}

outcome_counters& outcome_counters::operator+=(const outcome_counters& other) {
  for (std::size_t i = 0; i < outcome_count; ++i) by_outcome[i] += other.by_outcome[i];
  return *this;
}

const char* to_string(granularity x) {
  switch (x) {
    case granularity::minute: return "minute";
    case granularity::hour: return "hour";
    case granularity::day: return "day";
  }
  return "?";
}

bool from_string(const std::string& text, granularity& out) {
  if (text == "minute") out = granularity::minute;
  else if (text == "hour") out = granularity::hour;
  else if (text == "day") out = granularity::day;
  else return false;
  return true;
}

const char* to_string(entity x) {
  switch (x) {
    case entity::ad: return "ad";
    case entity::campaign: return "campaign";
    case entity::advertiser: return "advertiser";
  }
  return "?";
}

bool from_string(const std::string& text, entity& out) {
  if (text == "ad") out = entity::ad;
  else if (text == "campaign") out = entity::campaign;
  else if (text == "advertiser") out = entity::advertiser;
  else return false;
  return true;
}

const char* to_string(bucket_state x) {
  switch (x) {
    case bucket_state::open: return "open";
    case bucket_state::final: return "final";
    case bucket_state::amended: return "amended";
  }
  return "?";
}

}  // namespace adclick

namespace adclick {

void histogram_counts::observe(double v, const std::vector<double>& bounds) {
  if (counts.size() != bounds.size() + 1) counts.assign(bounds.size() + 1, 0);
  std::size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) ++i;
  ++counts[i];
  sum += v;
  ++total;
}

const std::vector<double>& checkpoint_seconds_bounds() {
  static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return bounds;
}

}  // namespace adclick
