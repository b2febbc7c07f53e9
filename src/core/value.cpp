#include "tessera/core/value.hpp"

#include "tessera/core/type_name.hpp"

namespace tessera::detail {

void throw_value_type(const std::type_info* held, const std::type_info& wanted) {
  throw dtype_error("Value holds " + (held ? readable_type_name(*held) : std::string("nothing")) +
                    ", not " + readable_type_name(wanted));
}

}  // namespace tessera::detail
