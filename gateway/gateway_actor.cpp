#include "gateway/gateway_actor.hpp"

#include <caf/all.hpp>

#include <memory>
#include <vector>

#include "messages/click_codec.hpp"
#include "common/errc.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

caf::behavior gateway_actor(caf::stateful_actor<gateway_state>* self, std::uint32_t partitions_count,
                            std::map<std::uint32_t, caf::actor> owned) {
  self->state.partitions_count = partitions_count;
  self->state.owned = std::move(owned);
  return {
    [=](const series_query& q) -> caf::result<series> {
      auto p = partition_of(q.ad_id, self->state.partitions_count);
      auto i = self->state.owned.find(p);
      if (i == self->state.owned.end())
        return make_error(errc::bad_request,
                          "partition " + std::to_string(p) + " is not owned by this node");
      self->delegate(i->second, q);
      return caf::delegated<series>{};
    },
    [=](status_atom) -> caf::result<std::vector<partition_status>> {
      auto rp = self->make_response_promise<std::vector<partition_status>>();
      const auto& owned = self->state.owned;
      auto results = std::make_shared<std::vector<partition_status>>(owned.size());
      auto remaining = std::make_shared<std::size_t>(owned.size());
      std::size_t slot = 0;
      for (const auto& [id, handle] : owned) {
        self->request(handle, std::chrono::seconds(5), status_atom_v)
          .then(
            [=](partition_status& s) mutable {
              (*results)[slot] = std::move(s);
              if (--*remaining == 0) rp.deliver(std::move(*results));
            },
            [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
        ++slot;
      }
      if (owned.empty()) rp.deliver(std::vector<partition_status>{});
      return rp;
    },
  };
}

}  // namespace adclick
