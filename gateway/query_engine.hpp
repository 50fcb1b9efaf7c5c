// The answers the gateway reads from the store itself: a campaign's or advertiser's series
// (the sum of every partition's shares) and the exact top-K (per-partition rankings merged
// by actors/core/ranking.hpp, proven from the rollups). Never reads a click.
//
// Both answer as of the partitions' last durable checkpoints: `final_before_ms` is the
// lowest durable final_before of the partitions, because a campaign's minute is final only
// once every partition holding its ads says so.
//
// Thread safety: stateless; the store may be shared.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "messages/types.hpp"

namespace adclick {

class store;

/// A campaign's or advertiser's series. errc::not_found if it never counted a click.
caf::expected<series> group_series(store& db, const series_query& q, std::int64_t watermark_ms,
                                   std::int64_t final_before_ms);

/// The exact top-K over the rankings of `partitions`. Billing counts only the hours and
/// days that end at or before `final_before_ms`.
caf::expected<top_list> top(store& db, const top_query& q, const std::vector<std::uint32_t>& partitions,
                            std::int64_t watermark_ms, std::int64_t final_before_ms);

}  // namespace adclick
