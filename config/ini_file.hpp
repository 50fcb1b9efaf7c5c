// The INI file adclickd reads (adclick.ini): `[group]` lines, `key = value` lines, comment
// lines starting with ; or #, blank lines. A value is a "double-quoted string" (with \"
// and \\ escapes) or the rest of the line, trimmed. Pure, no CAF.
#pragma once

#include <string>
#include <vector>

namespace adclick {

struct ini_entry {
  std::string name;   ///< "group.key"
  std::string value;  ///< unquoted
  int line = 0;
};

/// Parses `text`; on a malformed line returns false with `error` naming the line.
bool parse_ini(const std::string& text, std::vector<ini_entry>& out, std::string& error);

}  // namespace adclick
