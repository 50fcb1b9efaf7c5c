#include "common/errc.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace adclick {

std::string to_string(errc x) {
  switch (x) {
    case errc::ok: return "ok";
    case errc::storage: return "storage";
    case errc::storage_locked: return "storage_locked";
    case errc::format_mismatch: return "format_mismatch";
    case errc::nats: return "nats";
    case errc::not_found: return "not_found";
    case errc::bad_request: return "bad_request";
    case errc::recovering: return "recovering";
    case errc::timeout: return "timeout";
    case errc::busy: return "busy";
    case errc::not_owned: return "not_owned";
    case errc::past_retention: return "past_retention";
  }
  return "unknown";
}

caf::error make_error(errc code, std::string what) {
  return caf::error{static_cast<std::uint8_t>(code), caf::atom("adclick"),
                    caf::make_message(std::move(what))};
}

std::string describe(const caf::error& err) {
  if (!err) return "ok";
  std::string out;
  if (err.category() == caf::atom("adclick"))
    out = to_string(static_cast<errc>(err.code()));
  else
    out = caf::to_string(err.category()) + "/" + std::to_string(err.code());
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
    out += ": ";
    out += ctx.get_as<std::string>(0);
  }
  return out;
}

}  // namespace adclick
