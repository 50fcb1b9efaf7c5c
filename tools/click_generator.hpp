// Deterministic click generation for `adclick load`: the same options and seed give the
// same clicks, ids and event times, so runs (and their truth files) are repeatable.
// Pure logic: no NATS, no clock (event time starts at options::start_ms).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "messages/types.hpp"

namespace adclick {

struct generator_options {
  std::uint64_t ads = 1000;        ///< ad ids are 1..ads
  double zipf = 0.0;               ///< skew exponent; 0 = uniform
  std::uint64_t seed = 1;
  std::int64_t start_ms = 0;       ///< event time of the first click
  double event_rate = 10000;       ///< clicks per second of event time (may be below 1)
  /// Ids in the sequenced layout (README "Click ids"): `minters` ad servers, each with a
  /// minter per ad (named by the seed's low 16 bits, the server and the ad's low 32 bits,
  /// so ids are unique across ads and seeds) counting its clicks; a click comes from one of
  /// them at random. Else random 16 bytes.
  bool sequenced = false;
  std::uint32_t minters = 4;
};

class click_generator {
 public:
  explicit click_generator(const generator_options& opts);

  /// The next click: ad drawn from the (Zipf) distribution, a random 16-byte id or a
  /// sequenced one, event time advancing at event_rate.
  click next();
  std::uint64_t generated() const { return n_; }

 private:
  std::uint64_t draw_ad();

  generator_options opts_;
  std::mt19937_64 rng_;
  std::vector<double> cdf_;  ///< cumulative Zipf weights (empty when uniform)
  std::vector<std::uint32_t> next_sequence_;  ///< per (ad, minter), sequenced ids only
  std::uint64_t n_ = 0;
};

}  // namespace adclick
