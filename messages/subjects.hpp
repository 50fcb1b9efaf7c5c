// Every NATS name adclick uses (DESIGN 3.2), built in one place. The subject prefix is
// configurable (nats.prefix, default "adclick"); stream and consumer names are fixed.
// Publishers in other languages: clicks go to clicks(partition_of(ad_id, partitions)).
#pragma once

#include <cstdint>
#include <string>

namespace adclick {

class subjects {
 public:
  static constexpr const char* clicks_stream = "ADCLICK_CLICKS";  ///< the clicks, one subject per partition
  static constexpr const char* final_stream = "ADCLICK_FINAL";    ///< final and amended counts, for billing
  static constexpr const char* dlq_stream = "ADCLICK_DLQ";        ///< rejected input, with its reason

  explicit subjects(std::string prefix = "adclick") : prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  /// <prefix>.clicks.<partition>: where clicks of that partition are published.
  std::string clicks(std::uint32_t partition) const { return prefix_ + ".clicks." + std::to_string(partition); }
  /// <prefix>.clicks.*: the subjects of the clicks stream.
  std::string all_clicks() const { return prefix_ + ".clicks.*"; }
  /// <prefix>.final.<ad_id>: FinalCount of that ad's buckets.
  std::string final_of(std::uint64_t ad_id) const { return prefix_ + ".final." + std::to_string(ad_id); }
  /// <prefix>.final.>: the subjects of the finals stream.
  std::string all_finals() const { return prefix_ + ".final.>"; }
  /// <prefix>.dlq: rejected clicks and undecodable messages.
  std::string dlq() const { return prefix_ + ".dlq"; }
  /// <prefix>.live.<ad_id>: coalesced CountUpdate of that ad's minutes (core NATS).
  std::string live_of(std::uint64_t ad_id) const { return prefix_ + ".live." + std::to_string(ad_id); }
  /// <prefix>.live.campaign.<id> and <prefix>.live.advertiser.<id>: likewise, for a group.
  std::string live_of_group(bool campaign, std::uint64_t id) const {
    return prefix_ + (campaign ? ".live.campaign." : ".live.advertiser.") + std::to_string(id);
  }
  /// <prefix>.query.<partition>: query request/reply (protobuf QueryRequest/QueryResponse).
  std::string query(std::uint32_t partition) const { return prefix_ + ".query." + std::to_string(partition); }
  /// adclick-p<partition>: the durable pull consumer of a partition.
  /// <prefix>.admin.<verb>: admin request/reply (protobuf AdminRequest/AdminResponse).
  std::string admin(const std::string& verb) const { return prefix_ + ".admin." + verb; }
  std::string all_admin() const { return prefix_ + ".admin.*"; }
  static std::string consumer(std::uint32_t partition) { return "adclick-p" + std::to_string(partition); }

 private:
  std::string prefix_;
};

}  // namespace adclick
