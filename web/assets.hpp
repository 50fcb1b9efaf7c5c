#pragma once
// The dashboard page and its assets, embedded in the binary at build time (web/CMakeLists.txt runs
// web/embed.cmake over web/index.html, app.js, app.css and uPlot from web/node_modules).

#include <string_view>

namespace adclick::web {

struct asset {
  std::string_view path;  ///< URL path: "/" (index.html) or "/assets/<name>"
  std::string_view body;  ///< the file's bytes
  std::string_view mime;  ///< Content-Type, e.g. "text/javascript; charset=utf-8"
};

/// The asset served at `path` ("/", "/assets/app.js", "/assets/app.css",
/// "/assets/uPlot.iife.min.js", "/assets/uPlot.min.css"), or nullptr. The data is static.
const asset* find_asset(std::string_view path);

}  // namespace adclick::web
