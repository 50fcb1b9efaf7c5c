// Converts between the wire contract (protobuf ClickBatch bytes) and plain clicks.
// The only place that decides whether wire bytes are a valid click; used by the NATS
// ingress of adclickd and, in reverse, by the `adclick load` generator.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

/// Decodes one ClickBatch. Valid clicks are appended to `out`; each rejected click (or
/// the whole message, if the bytes are not a ClickBatch or hold no click) is counted in
/// `rejected` and, if `rejects` is given, appended to it as it came (for the DLQ).
/// Never throws on bad input. Returns the number of clicks appended.
std::size_t decode_click_batch(const void* data, std::size_t size, std::vector<click>& out,
                               outcome_counters& rejected, std::vector<rejected_input>* rejects = nullptr);

/// Encodes a FinalCount (query.proto) of one bucket: what billing reads on
/// <prefix>.final.<ad_id>.
std::string encode_final_count(std::uint64_t ad_id, const minute_count& bucket);

/// A CountUpdate (adclick.v1, live updates) of one minute of an ad, campaign or advertiser.
std::string encode_count_update(entity kind, std::uint64_t id, const series_point& p);

/// Encodes clicks as one ClickBatch.
std::string encode_click_batch(const click* first, std::size_t count);

/// The partition a click belongs to (DESIGN 3.2): ad_id mod partitions. Publishers in other
/// languages must compute exactly this.
constexpr std::uint32_t partition_of(std::uint64_t ad_id, std::uint32_t partitions) {
  return static_cast<std::uint32_t>(ad_id % partitions);
}

}  // namespace adclick
