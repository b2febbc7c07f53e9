#pragma once
// What the trace and the performance report writers share: JSON strings and task names.

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "exec/trace.hpp"

namespace tessera::detail::trace {

/// `s` as a JSON string literal (quotes included), appended to `out`. Also safe inside an
/// HTML <script> element: "<" is escaped, so no "</script>" can end it.
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
        out += "\\u003c";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

/// "('label', 1, 2)": an event's task, as errors name it.
inline std::string task_name(const Recording& rec, const Event& e) {
  if (e.num_coords == 0) return fmt::format("'{}'", rec.labels.at(e.label));
  std::string out = fmt::format("('{}'", rec.labels.at(e.label));
  for (std::size_t k = 0; k < std::min<std::size_t>(e.num_coords, kCoords); ++k)
    out += fmt::format(", {}", e.coords[k]);
  return out + (e.num_coords > kCoords ? ", ...)" : ")");
}

}  // namespace tessera::detail::trace
