// What every front door (HTTP, NATS request/reply) shares: asking the gateway actor from a
// door's own thread, and how an error answers (status and code), so that both doors give
// the same answer to the same question. Parsing and rendering stay with each door.
#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include "messages/types.hpp"

namespace adclick {

/// How an error answers: an HTTP status (NATS replies carry it too) and a stable code.
struct door_error {
  int status = 500;
  std::string code = "internal";
  std::string message;
};
door_error error_of(const caf::error& err);

/// Asks the gateway `question...` and waits at most `timeout` for an `Answer`. Call from a
/// door's thread, never from an actor.
template <class Answer, class... Ts>
caf::expected<Answer> ask_gateway(caf::actor_system& sys, const caf::actor& gateway, caf::timespan timeout,
                                  Ts... question) {
  caf::scoped_actor self{sys};
  caf::expected<Answer> out{Answer{}};
  self->request(gateway, timeout, question...)
    .receive([&](Answer& a) { out = std::move(a); }, [&](caf::error& e) { out = std::move(e); });
  return out;
}

/// Asks the gateway and waits (at most 10 s). Call from a door's thread, never from an actor.
caf::expected<series> ask(caf::actor_system& sys, const caf::actor& gateway, const series_query& q);
caf::expected<top_list> ask(caf::actor_system& sys, const caf::actor& gateway, const top_query& q);
/// Every owned partition's status, in partition order.
caf::expected<std::vector<partition_status>> ask_statuses(caf::actor_system& sys, const caf::actor& gateway);

}  // namespace adclick
