#include "tessera/core/error.hpp"

namespace tessera {

task_error::task_error(std::string task, std::string original, int rank)
    : error("task " + task + " failed" +
            (rank >= 0 ? " on rank " + std::to_string(rank) : std::string()) + ": " + original),
      m_task(std::move(task)),
      m_original(std::move(original)),
      m_rank(rank) {}

}  // namespace tessera
