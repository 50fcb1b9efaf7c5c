#include "tools/click_generator.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "actors/core/id_runs.hpp"

namespace adclick {

click_generator::click_generator(const generator_options& opts) : opts_(opts), rng_(opts.seed) {
  if (opts_.ads == 0) opts_.ads = 1;
  if (opts_.event_rate <= 0) opts_.event_rate = 1;
  if (opts_.zipf > 0) {
    cdf_.resize(opts_.ads);
    double sum = 0;
    for (std::uint64_t k = 0; k < opts_.ads; ++k) {
      sum += 1.0 / std::pow(static_cast<double>(k + 1), opts_.zipf);
      cdf_[k] = sum;
    }
    for (auto& c : cdf_) c /= sum;
  }
  if (opts_.sequenced) {
    opts_.minters = std::max<std::uint32_t>(opts_.minters, 1);
    next_sequence_.assign(opts_.ads * opts_.minters, 0);
  }
}

std::uint64_t click_generator::draw_ad() {
  if (cdf_.empty()) return 1 + rng_() % opts_.ads;
  double u = std::uniform_real_distribution<double>{0.0, 1.0}(rng_);
  auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
  auto rank = static_cast<std::uint64_t>(std::min<std::ptrdiff_t>(it - cdf_.begin(), cdf_.size() - 1));
  return rank + 1;
}

click click_generator::next() {
  click c;
  std::uint64_t a = rng_(), b = rng_();
  c.ad_id = draw_ad();
  if (opts_.sequenced) {
    // One of `minters` servers serves the click. Its minter for this ad names the fleet
    // (the seed: another seed is another fleet, or a reboot), the server and the ad, so
    // that ids are unique across ads too (README "Click ids"); its sequence counts on.
    const auto m = a % opts_.minters;
    const auto minter = (opts_.seed & 0xffff) << 48 | ((m + 1) & 0xffff) << 32 | (c.ad_id & 0xffff'ffff);
    c.id = to_click_id({minter, next_sequence_[(c.ad_id - 1) * opts_.minters + m]++});
  } else {
    std::memcpy(c.id.data(), &a, 8);
    std::memcpy(c.id.data() + 8, &b, 8);
  }
  c.campaign_id = c.ad_id / 10 + 1;
  c.advertiser_id = c.ad_id / 100 + 1;
  c.event_time_ms = opts_.start_ms + static_cast<std::int64_t>(static_cast<double>(n_) * 1000.0 / opts_.event_rate);
  ++n_;
  return c;
}

}  // namespace adclick
