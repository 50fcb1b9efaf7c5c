// The checkpoint writer: a detached actor (its own thread, so LevelDB's blocking, fsynced
// writes and the NATS publishes after them never stall a CAF worker) that turns checkpoint
// messages into atomic writes.
//
// Accepts: checkpoint (from partition actors) -> checkpoint_result. The checkpoint is
// moved in, not copied. When the write is durable, its final and amended buckets go to
// `out` (each is a new finalization or an amendment: a final bucket changes only by
// amendment); when it fails, its rows go back to the partition to carry.
#pragma once

#include <caf/event_based_actor.hpp>

namespace adclick {

class egress;
class store;

/// `out` may be null (nothing is published).
caf::behavior checkpoint_writer(caf::event_based_actor* self, store* db, egress* out);

}  // namespace adclick
