// The checkpoint writer: a detached actor (its own thread, so LevelDB's blocking, fsynced
// writes never stall a CAF worker) that turns checkpoint messages into atomic writes.
//
// Accepts: checkpoint (from partition actors) -> void on success, or the storage error.
#pragma once

#include <caf/event_based_actor.hpp>

namespace adclick {

class store;

caf::behavior checkpoint_writer(caf::event_based_actor* self, store* db);

}  // namespace adclick
