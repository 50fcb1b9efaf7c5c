// What the service tells the outside world besides query answers (DESIGN 3.2): rejected
// input to the dead-letter subject, and final or amended buckets to billing. An interface
// so that actors stay free of NATS; gateway/nats_egress implements it.
//
// Thread safety: implementations are called from CAF workers and ingress threads at once.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

class egress {
 public:
  virtual ~egress() = default;
  /// A decoded click that was rejected (future, too_old): published as a ClickBatch of one.
  virtual void rejected(const click& c, outcome reason) = 0;
  /// A message whose bytes were (partly) rejected by the decoder: published as it came.
  virtual void rejected_bytes(std::string_view data, outcome reason, std::uint64_t rejected_count) = 0;
  /// Buckets of `ad_id` that became final or were amended, now durable.
  virtual void finals(std::uint64_t ad_id, const std::vector<minute_count>& buckets) = 0;
};

}  // namespace adclick
