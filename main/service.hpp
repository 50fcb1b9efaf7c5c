// adclickd as a whole: wires storage, NATS, the actors, the ingress threads and HTTP
// together, runs until SIGTERM/SIGINT (or a fatal error), and shuts down in order.
#pragma once

#include <caf/actor_system.hpp>

namespace adclick {

class adclick_config;

/// Blocks SIGTERM and SIGINT in the calling thread and, by inheritance, in every thread
/// started after it, so that run_service can take them synchronously. Call it first in
/// main(), before anything starts a thread: caf::actor_system's constructor starts CAF's
/// clock, multiplexer and worker threads, and a stop signal delivered to one of those
/// with the signal unblocked takes its default action (exit 143, no final checkpoint).
void block_stop_signals();

/// Runs the service. Returns the process exit code (0 after a clean shutdown). Expects
/// block_stop_signals() to have run before any thread was started.
/// After a stop signal the process exits with code 3 if it still runs
/// checkpoint.stop-timeout later (see arm_stop_deadline).
int run_service(caf::actor_system& sys, const adclick_config& cfg);

/// The stop is over (the actor system is gone): call just before main returns, so that
/// the stop deadline cannot turn a finished stop's exit code into 3.
void stop_finished();

}  // namespace adclick
