// The one error type of the process: caf::error carrying adclick::errc. Each external
// library's errors are converted to these once, in the one file that uses that library.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace adclick {

enum class errc : std::uint8_t {
  ok = 0,
  storage,           ///< LevelDB failed (I/O, corruption, disk full)
  storage_locked,    ///< another process holds the data directory
  format_mismatch,   ///< stored format version or partition count differs from ours
  nats,              ///< NATS connection or JetStream API failed
  not_found,         ///< a NATS stream or consumer does not exist
  bad_request,       ///< a query parameter is invalid
  recovering,        ///< the owner of the data is not ready yet
  timeout,
  busy,              ///< the request cannot be done now (an ad that keeps changing)
  not_owned,         ///< the ad's partition belongs to another node
  past_retention,    ///< a query asks for buckets retention has deleted (or may have)
};

std::string to_string(errc x);

/// Makes a caf::error in the "adclick" category with a human-readable context.
caf::error make_error(errc code, std::string what);

/// Renders any caf::error as "code: context" without needing an actor system.
std::string describe(const caf::error& err);

}  // namespace adclick
