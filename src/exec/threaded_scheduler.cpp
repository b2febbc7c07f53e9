#include "tessera/exec/threaded_scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "exec/dataflow_run.hpp"

namespace tessera {

namespace {

/// Parses TESSERA_NUM_THREADS; 0 when it is not set.
int env_num_threads() {
  const char* text = std::getenv("TESSERA_NUM_THREADS");
  if (text == nullptr) return 0;
  const std::string_view s(text);
  int n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 1) {
    throw value_error(fmt::format("TESSERA_NUM_THREADS must be a positive integer, got '{}'", s));
  }
  return n;
}

/// The pool size for `ThreadedScheduler(requested)`.
int resolve_num_threads(int requested) {
  if (requested < 0) {
    throw value_error(fmt::format("a scheduler needs a thread count >= 0, got {}", requested));
  }
  return requested > 0 ? requested : ThreadedScheduler::default_num_threads();
}

}  // namespace

int ThreadedScheduler::default_num_threads() {
  if (const int n = env_num_threads(); n > 0) return n;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

ThreadedScheduler::ThreadedScheduler(int num_threads, std::size_t memory_budget)
    : m_owned_pool(std::make_unique<ThreadPool>(resolve_num_threads(num_threads))),
      m_pool(m_owned_pool.get()),
      m_budget(std::make_unique<detail::MemoryBudget>(resolve_memory_budget(memory_budget, 1))) {}

ThreadedScheduler::ThreadedScheduler(ThreadPool& pool, std::size_t memory_budget)
    : m_pool(&pool),
      m_budget(std::make_unique<detail::MemoryBudget>(resolve_memory_budget(memory_budget, 1))) {}

MemoryStats ThreadedScheduler::memory_stats() const { return m_budget->stats(); }

ThreadedScheduler::~ThreadedScheduler() = default;

std::vector<Value> ThreadedScheduler::run(const TaskGraph& graph, std::span<const TaskId> outputs) {
  if (outputs.empty()) return {};
  detail::DataflowRun run(*m_pool, graph, detail::plan_run(graph, outputs), nullptr,
                          m_budget.get());
  return run.run(outputs);
}

}  // namespace tessera
