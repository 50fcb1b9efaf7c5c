// One partition's shares of its campaigns' and advertisers' buckets (minute, hour, day),
// kept in step with its ads' minute moves (rollup.hpp): never by reading clicks. Pure
// logic: the partition actor seeds a bucket from the store the first time it touches it.
//
// A campaign's bucket is the sum of the shares of every partition (its ads spread across
// them); each partition writes its own share, in the checkpoint that carries the ads'
// minutes. Id 0 means "no campaign" (or advertiser): it is not rolled up.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <optional>
#include <tuple>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

class group_rollups {
 public:
  struct key {
    entity kind = entity::campaign;
    std::uint64_t id = 0;
    granularity gran = granularity::minute;
    std::int64_t start_ms = 0;
    bool operator<(const key& o) const {
      return std::tie(kind, id, gran, start_ms) < std::tie(o.kind, o.id, o.gran, o.start_ms);
    }
  };
  /// Reads a share that is not in memory; nullopt if the read failed.
  using seed_fn = std::function<std::optional<rollup_value>(const key&)>;

  /// Adds one minute's move of an ad owned by (campaign, advertiser) to the buckets it
  /// touches (minute, hour and day of each). False if a seed read failed (nothing applied).
  bool apply(std::uint64_t campaign_id, std::uint64_t advertiser_id, const minute_change& move, const seed_fn& seed);

  /// The shares changed since the previous call, absolute.
  std::vector<group_count> take_changes();

  /// Forgets shares with no change in the last `idle_takes` take_changes: call it when
  /// every take so far is durable, so that their stored values are current.
  /// Returns how many it forgot.
  std::size_t drop_settled(std::uint64_t idle_takes);

  std::size_t size() const { return shares_.size(); }

 private:
  struct key_hash {
    std::size_t operator()(const key& k) const {
      auto h = k.id * 0x9E3779B97F4A7C15ULL ^ static_cast<std::uint64_t>(k.start_ms) * 0xC2B2AE3D27D4EB4FULL;
      return static_cast<std::size_t>(h ^ (static_cast<std::uint64_t>(k.kind) << 8 | static_cast<std::uint64_t>(k.gran)));
    }
  };
  struct key_equal {
    bool operator()(const key& a, const key& b) const {
      return a.id == b.id && a.start_ms == b.start_ms && a.kind == b.kind && a.gran == b.gran;
    }
  };
  struct share {
    rollup_value value;
    bool changed = false;
    std::uint64_t last_take = 0;  ///< the take that last carried a change
  };
  using table = std::unordered_map<key, share, key_hash, key_equal>;
  table shares_;  ///< (node-based: pointers to values stay valid until erased)
  std::vector<std::pair<const key, share>*> changed_;
  std::uint64_t takes_ = 0;
};

}  // namespace adclick
