#include "gateway/door.hpp"

#include <caf/all.hpp>
#include <caf/scoped_actor.hpp>

#include "common/errc.hpp"
#include "messages/type_ids.hpp"

namespace adclick {

namespace {
constexpr auto ask_timeout = std::chrono::seconds(10);

template <class Answer, class Query>
caf::expected<Answer> ask_for(caf::actor_system& sys, const caf::actor& gateway, const Query& q) {
  return ask_gateway<Answer>(sys, gateway, ask_timeout, q);
}
}  // namespace

door_error error_of(const caf::error& err) {
  if (err.category() == caf::atom("adclick")) {
    switch (static_cast<errc>(err.code())) {
      case errc::bad_request: return {400, "bad_parameter", describe(err)};
      case errc::not_found: return {404, "not_found", describe(err)};
      case errc::recovering: return {503, "recovering", describe(err)};
      case errc::busy: return {409, "busy", describe(err)};
      case errc::not_owned: return {400, "not_owned", describe(err)};
      case errc::past_retention: return {410, "past_retention", describe(err)};
      case errc::storage: return {500, "storage", describe(err)};
      default: break;
    }
  }
  if (err == caf::sec::request_timeout) return {503, "timeout", "the service did not answer in time: " + describe(err)};
  return {500, "internal", describe(err)};
}

caf::expected<series> ask(caf::actor_system& sys, const caf::actor& gateway, const series_query& q) {
  return ask_for<series>(sys, gateway, q);
}

caf::expected<top_list> ask(caf::actor_system& sys, const caf::actor& gateway, const top_query& q) {
  return ask_for<top_list>(sys, gateway, q);
}

caf::expected<std::vector<partition_status>> ask_statuses(caf::actor_system& sys, const caf::actor& gateway) {
  return ask_for<std::vector<partition_status>>(sys, gateway, status_atom_v);
}

}  // namespace adclick
