// Folding two deltas of one ad into one, for a checkpoint that carries the rows of a
// failed attempt into the next one. A checkpoint must hold at most one delta per ad, and
// one id list per (ad, minute): its id chunks are keyed by the checkpoint's stream
// sequence, so two lists for one minute would write the same key twice and the second
// would overwrite the first (ids counted but not stored; a republish of one of them
// counted again after a restart). Pure.
#pragma once

#include "messages/types.hpp"

namespace adclick {

/// Folds `newer` into `older` (deltas of the same ad, `older` taken first): buckets and
/// filters by minute with the newer absolute value winning, the ids of a minute joined
/// and sorted, minute moves summed, hour and day buckets by start with the newer winning,
/// the owner the newer one's, the outcome counters summed.
void merge_delta(ad_delta& older, ad_delta&& newer);

}  // namespace adclick
