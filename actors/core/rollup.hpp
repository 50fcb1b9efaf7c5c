// Rolling minute buckets up into hours and days, and into campaigns and advertisers.
// Pure logic, no CAF and no storage.
//
// Every rolled-up bucket (an ad's hour or day, one partition's share of a campaign's or an
// advertiser's minute, hour or day) is a rollup_value: the sum, over the minute buckets it
// covers, of each minute's contribution (its count; 1 open minute if it is open with
// clicks; its amendments, version - 1, once final). Sums of contributions can be kept up
// to date by adding the change of one minute at a time, so the stored rollups are
// maintained as minutes change and never re-read them. Its state follows at query time:
//   open     while any of its minutes is open, or its end is not yet before the
//            partition's final_before (a minute with no clicks yet may still get some);
//   final    otherwise, version 1, or
//   amended  once any of its minutes was amended: version 1 + all their amendments, so
//            that every late click raises both the count and the version.
#pragma once

#include <vector>

#include "common/time.hpp"
#include "messages/types.hpp"

namespace adclick {

constexpr std::int64_t bucket_width(granularity g) {
  return g == granularity::minute ? minute_ms : g == granularity::hour ? hour_ms : day_ms;
}

/// What one minute bucket adds to every rollup that covers it.
rollup_value contribution(const minute_count& m);

/// How a minute's contribution moved from `before` to `after`.
minute_change change_between(std::int64_t minute_ms, const rollup_value& before, const rollup_value& after);

/// Adds a minute's change to a rollup that covers it.
void add_change(rollup_value& into, const minute_change& c);

/// Adds two shares of one bucket (two partitions' shares of a campaign's hour).
rollup_value& operator+=(rollup_value& into, const rollup_value& other);

/// The point a rolled-up bucket [start_ms, start_ms + width) shows, given the first minute
/// that is not final (final_before_ms; see event_clock).
series_point point_of(std::int64_t start_ms, std::int64_t width, const rollup_value& v, std::int64_t final_before_ms);

/// The reference: sums ordered minute `points` into buckets of `g` by the rules above
/// (`final_before_ms` as for point_of). The stored rollups must always equal this.
std::vector<series_point> rollup(const std::vector<series_point>& points, granularity g, std::int64_t final_before_ms);

}  // namespace adclick
