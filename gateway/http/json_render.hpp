// The HTTP door's answers as JSON text, written directly (no document tree): a 24-hour
// minute series is 1440 points, and building it as a nlohmann::json tree of maps cost more
// than reading it from the store. Pure functions; tests/unit/json_render_test.cpp parses
// every output back and compares it field by field.
#pragma once

#include <string>

#include "gateway/live_fanout.hpp"
#include "messages/types.hpp"

namespace adclick {

/// {"<kind>_id", granularity, view, from_ms, to_ms, watermark_ms, final_before_ms,
///  series:[{start_ms, count, state, version}]}
std::string render_series(const series_query& q, const series& s);

/// {from_ms, to_ms, by, k, view, watermark_ms, top:[{id, count}]}
std::string render_top(const top_list& t);

/// One Server-Sent Event: `id:`, `event: count`, and {kind, id, bucket_start_ms, count,
/// state, version} as its data.
std::string render_sse_event(const live_event& e);

}  // namespace adclick
