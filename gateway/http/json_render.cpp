#include "gateway/http/json_render.hpp"

#include <charconv>
#include <string_view>

namespace adclick {

namespace {

/// Appends JSON to a string. Every name and string value here is one of our own constant
/// words (kinds, states, views), so none needs escaping.
class json_text {
 public:
  explicit json_text(std::string& out) : out_(out) {}

  json_text& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  json_text& name(std::string_view n) {
    out_.push_back('"');
    out_.append(n);
    out_.append("\":");
    return *this;
  }
  json_text& word(std::string_view s) {
    out_.push_back('"');
    out_.append(s);
    out_.push_back('"');
    return *this;
  }
  template <class Int>
  json_text& number(Int v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
  }

 private:
  std::string& out_;
};

std::string_view view_of(bool billing) { return billing ? "billing" : "live"; }

}  // namespace

std::string render_series(const series_query& q, const series& s) {
  std::string out;
  out.reserve(256 + s.points.size() * 64);
  json_text j{out};
  j.raw("{\"").raw(to_string(q.kind)).raw("_id\":").number(q.id);
  j.raw(",").name("granularity").word(to_string(q.gran));
  j.raw(",").name("view").word(view_of(q.billing));
  j.raw(",").name("from_ms").number(q.from_ms);
  j.raw(",").name("to_ms").number(q.to_ms);
  j.raw(",").name("watermark_ms").number(s.watermark_ms);
  j.raw(",").name("final_before_ms").number(s.final_before_ms);
  j.raw(",").name("series").raw("[");
  bool first = true;
  for (const auto& p : s.points) {
    j.raw(first ? "{" : ",{").name("start_ms").number(p.start_ms);
    j.raw(",").name("count").number(p.count);
    j.raw(",").name("state").word(to_string(p.state));
    j.raw(",").name("version").number(p.version).raw("}");
    first = false;
  }
  j.raw("]}");
  return out;
}

std::string render_top(const top_list& t) {
  std::string out;
  out.reserve(256 + t.top.size() * 48);
  json_text j{out};
  j.raw("{").name("from_ms").number(t.query.from_ms);
  j.raw(",").name("to_ms").number(t.query.to_ms);
  j.raw(",").name("by").word(to_string(t.query.by));
  j.raw(",").name("k").number(t.query.k);
  j.raw(",").name("view").word(view_of(t.query.billing));
  j.raw(",").name("watermark_ms").number(t.watermark_ms);
  j.raw(",").name("top").raw("[");
  bool first = true;
  for (const auto& e : t.top) {
    j.raw(first ? "{" : ",{").name("id").number(e.id);
    j.raw(",").name("count").number(e.count).raw("}");
    first = false;
  }
  j.raw("]}");
  return out;
}

std::string render_sse_event(const live_event& e) {
  std::string out;
  out.reserve(160);
  json_text j{out};
  j.raw("id: ").number(e.seq).raw("\nevent: count\ndata: {");
  j.name("kind").word(to_string(e.kind));
  j.raw(",").name("id").number(e.id);
  j.raw(",").name("bucket_start_ms").number(e.point.start_ms);
  j.raw(",").name("count").number(e.point.count);
  j.raw(",").name("state").word(to_string(e.point.state));
  j.raw(",").name("version").number(e.point.version);
  j.raw("}\n\n");
  return out;
}

}  // namespace adclick
