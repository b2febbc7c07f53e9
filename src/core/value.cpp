#include "tessera/core/value.hpp"

namespace tessera::detail {

void throw_value_type(const std::type_info* held, const std::type_info& wanted) {
  throw dtype_error(std::string("Value holds ") + (held ? held->name() : "nothing") + ", not " +
                    wanted.name());
}

}  // namespace tessera::detail
