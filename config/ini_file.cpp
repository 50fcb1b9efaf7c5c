#include "config/ini_file.hpp"

#include <sstream>

namespace adclick {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// Unquotes a "..." value; false if the quotes do not close or text follows them.
bool unquote(const std::string& v, std::string& out) {
  out.clear();
  std::size_t i = 1;
  for (; i < v.size() && v[i] != '"'; ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  if (i >= v.size()) return false;
  const auto rest = trim(v.substr(i + 1));
  return rest.empty() || rest[0] == ';' || rest[0] == '#';
}

}  // namespace

bool parse_ini(const std::string& text, std::vector<ini_entry>& out, std::string& error) {
  std::istringstream in{text};
  std::string raw, group;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    const auto l = trim(raw);
    if (l.empty() || l[0] == ';' || l[0] == '#') continue;
    const auto where = "line " + std::to_string(line) + ": ";
    if (l[0] == '[') {
      if (l.back() != ']' || l.size() < 3) {
        error = where + "a group is written [name]";
        return false;
      }
      group = trim(l.substr(1, l.size() - 2));
      continue;
    }
    const auto eq = l.find('=');
    if (eq == std::string::npos) {
      error = where + "expected key = value";
      return false;
    }
    if (group.empty()) {
      error = where + "a key before any [group]";
      return false;
    }
    const auto key = trim(l.substr(0, eq));
    auto value = trim(l.substr(eq + 1));
    if (key.empty()) {
      error = where + "expected key = value";
      return false;
    }
    if (!value.empty() && value[0] == '"') {
      std::string v;
      if (!unquote(value, v)) {
        error = where + "unterminated string (or text after it)";
        return false;
      }
      value = std::move(v);
    } else {
      // An unquoted value ends at a comment that follows a space: `interval = 1s ; why`.
      for (std::size_t i = 1; i < value.size(); ++i)
        if ((value[i] == ';' || value[i] == '#') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
          value = trim(value.substr(0, i));
          break;
        }
    }
    out.push_back({group + "." + key, std::move(value), line});
  }
  return true;
}

}  // namespace adclick
