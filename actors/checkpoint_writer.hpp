// The checkpoint writer: a detached actor (its own thread, so LevelDB's blocking, fsynced
// writes never stall a CAF worker) that turns checkpoint messages into atomic writes.
//
// Accepts: checkpoint (from partition actors) -> checkpoint_result. The checkpoint is
// moved in, not copied. A durable write wakes the outbox publisher (`on_durable`), which
// publishes the outbox rows it holds; a failed write hands the checkpoint back to the
// partition to carry into its next attempt.
#pragma once

#include <functional>

#include <caf/event_based_actor.hpp>

#include "messages/types.hpp"
#include "persistence/store.hpp"

namespace adclick {

/// The rows of one checkpoint: its buckets (with open markers), id chunks (numbered by
/// the checkpoint's stream sequence), filters, outbox messages and the position.
store::batch checkpoint_batch(const checkpoint& cp);

/// `on_durable` may be empty.
caf::behavior checkpoint_writer(caf::event_based_actor* self, store* db, std::function<void()> on_durable);

}  // namespace adclick
