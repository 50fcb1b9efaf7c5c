// adclickd as a whole: wires storage, NATS, the actors, the ingress threads and HTTP
// together, runs until SIGTERM/SIGINT (or a fatal error), and shuts down in order.
#pragma once

#include <caf/actor_system.hpp>

namespace adclick {

class adclick_config;

/// Runs the service. Returns the process exit code (0 after a clean shutdown).
int run_service(caf::actor_system& sys, const adclick_config& cfg);

}  // namespace adclick
