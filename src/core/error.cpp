#include "tessera/core/error.hpp"

namespace tessera {

task_error::task_error(std::string task, std::string original)
    : error("task " + task + " failed: " + original),
      m_task(std::move(task)),
      m_original(std::move(original)) {}

}  // namespace tessera
