#include "tessera/core/type_name.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string_view>

namespace tessera::detail {

std::string readable_type_name(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> raw(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  std::string name = status == 0 && raw ? std::string(raw.get()) : std::string(mangled);
  // libstdc++ spells out default template arguments; the reader wants the type as written.
  // (Rebuilt by appending: GCC 12 reports a false -Wrestrict on std::string::replace here.)
  const auto replace_all = [&](std::string_view from, std::string_view to) {
    std::string out;
    std::size_t done = 0;
    for (auto at = name.find(from); at != std::string::npos; at = name.find(from, done)) {
      out.append(name, done, at - done).append(to);
      done = at + from.size();
    }
    name = out.append(name, done, std::string::npos);
  };
  replace_all("std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
              "std::string");
  // ", std::allocator<...>" (brackets balanced) after a container's element type.
  constexpr std::string_view allocator = ", std::allocator<";
  for (auto at = name.find(allocator); at != std::string::npos; at = name.find(allocator, at)) {
    std::size_t i = at + allocator.size();
    for (int depth = 1; i < name.size() && depth > 0; ++i) {
      if (name[i] == '<') ++depth;
      if (name[i] == '>') --depth;
    }
    name = name.substr(0, at) + name.substr(i);
  }
  replace_all(" >", ">");
  return name;
}

}  // namespace tessera::detail
