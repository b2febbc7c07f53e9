#pragma once
/// @file
/// Readable C++ type names for error messages.

#include <string>
#include <typeinfo>

namespace tessera::detail {

/// The type as a reader writes it: "double", "std::string", "std::vector<long>", "Spectrum"
/// (demangled, with libstdc++'s default template arguments removed).
std::string readable_type_name(const char* mangled);
inline std::string readable_type_name(const std::type_info& type) {
  return readable_type_name(type.name());
}

}  // namespace tessera::detail
