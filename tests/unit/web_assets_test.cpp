#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "web/assets.hpp"

using adclick::web::find_asset;

namespace {

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

/// The values of every `attr="..."` in `html` (double quotes, as index.html writes them).
std::vector<std::string> attribute_values(std::string_view html, std::string_view attr) {
  std::vector<std::string> out;
  const std::string key = " " + std::string{attr} + "=\"";
  for (auto pos = html.find(key); pos != std::string_view::npos; pos = html.find(key, pos + 1)) {
    const auto start = pos + key.size();
    const auto end = html.find('"', start);
    if (end == std::string_view::npos) break;
    out.emplace_back(html.substr(start, end - start));
  }
  return out;
}

}  // namespace

TEST_CASE("every dashboard asset is embedded with its MIME type", "[web]") {
  const std::vector<std::pair<std::string_view, std::string_view>> expected = {
    {"/", "text/html; charset=utf-8"},
    {"/assets/app.js", "text/javascript; charset=utf-8"},
    {"/assets/app.css", "text/css; charset=utf-8"},
    {"/assets/uPlot.iife.min.js", "text/javascript; charset=utf-8"},
    {"/assets/uPlot.min.css", "text/css; charset=utf-8"},
  };
  for (const auto& [path, mime] : expected) {
    INFO(path);
    const auto* a = find_asset(path);
    REQUIRE(a != nullptr);
    CHECK(a->path == path);
    CHECK(a->mime == mime);
    CHECK(a->body.size() > 100);
  }
  CHECK(contains(find_asset("/")->body, "<!doctype html>"));
  CHECK(contains(find_asset("/assets/uPlot.iife.min.js")->body, "uPlot"));
  CHECK(find_asset("/assets/app.js")->body.back() != '\0');  // the size excludes the array's terminator
}

TEST_CASE("unknown asset paths are not found", "[web]") {
  CHECK(find_asset("") == nullptr);
  CHECK(find_asset("/index.html") == nullptr);
  CHECK(find_asset("/assets/") == nullptr);
  CHECK(find_asset("/assets/app.js/") == nullptr);
  CHECK(find_asset("/assets/../app.js") == nullptr);
  CHECK(find_asset("/assets/APP.JS") == nullptr);
}

TEST_CASE("index.html loads only embedded assets", "[web]") {
  const auto html = find_asset("/")->body;
  std::vector<std::string> refs = attribute_values(html, "src");
  for (auto& h : attribute_values(html, "href")) refs.push_back(h);
  CHECK(refs.size() >= 4);  // two scripts, two style sheets
  for (const auto& ref : refs) {
    INFO(ref);
    if (ref.rfind("data:", 0) == 0) continue;  // the empty favicon
    REQUIRE(ref.rfind("/assets/", 0) == 0);
    CHECK(find_asset(ref) != nullptr);
  }
}

TEST_CASE("our page, script and style name no other host", "[web]") {
  for (const auto* path : {"/", "/assets/app.js", "/assets/app.css"}) {
    INFO(path);
    const auto body = find_asset(path)->body;
    CHECK_FALSE(contains(body, "http://"));
    CHECK_FALSE(contains(body, "https://"));
    CHECK_FALSE(contains(body, "//cdn"));
  }
}

TEST_CASE("the page carries the test hooks that browser tests read", "[web]") {
  const auto html = find_asset("/")->body;
  const auto js = find_asset("/assets/app.js")->body;
  for (const auto* id : {"series-total", "top", "readiness", "last-event", "wm-lag", "chart", "live-state"}) {
    INFO(id);
    CHECK(contains(html, std::string{"id=\""} + id + "\""));
    CHECK(contains(js, std::string{"#"} + id));
  }
  for (const auto* hook : {"data-total", "data-buckets", "data-id", "data-count", "data-ready"}) {
    INFO(hook);
    CHECK(contains(js, hook));
  }
  // The endpoints the page uses.
  for (const auto* endpoint : {"/v1/top?", "/v1/stream?", "/readyz", "/v1/admin/status", "/clicks?"}) {
    INFO(endpoint);
    CHECK(contains(js, endpoint));
  }
}
