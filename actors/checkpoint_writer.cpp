#include <caf/all.hpp>

#include "checkpoint_writer.hpp"

#include "adclick/type_ids.hpp"
#include "store.hpp"

namespace adclick {

caf::behavior checkpoint_writer(caf::event_based_actor*, store* db) {
  return {
    [=](const checkpoint& cp) -> caf::result<void> {
      if (auto err = db->write(cp)) return err;
      return {};
    },
  };
}

}  // namespace adclick
