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

#include "exec/task_execution.hpp"

namespace tessera {

namespace {

class ThreadedRun;

/// A ready task waiting on a deque. Built in place, in its run's job storage, at the moment the
/// task becomes ready (each task is pushed at most once per run), so the pool never allocates.
class TaskJob final : public ThreadPool::Job {
 public:
  TaskJob(ThreadedRun& run, TaskId id) noexcept : m_run(&run), m_id(id) {}
  void execute(ThreadPool::Worker& self) override;

 private:
  ThreadedRun* m_run;
  TaskId m_id;
};

/// Claims tasks without dependencies (roots) in priority order; queued once per worker that
/// takes part in a run.
class RootFeeder final : public ThreadPool::Job {
 public:
  explicit RootFeeder(ThreadedRun& run) noexcept : m_run(&run) {}
  void execute(ThreadPool::Worker& self) override;

 private:
  ThreadedRun* m_run;
};

/// The state of one run of one graph: counters, values, error. Lives on the caller's stack;
/// every job that refers to it has finished (through m_wait) before the caller returns.
class ThreadedRun {
 public:
  ThreadedRun(ThreadPool& pool, const TaskGraph& graph, std::span<const TaskId> outputs);
  ~ThreadedRun();
  ThreadedRun(const ThreadedRun&) = delete;
  ThreadedRun& operator=(const ThreadedRun&) = delete;

  std::vector<Value> run(std::span<const TaskId> outputs);

  void feed_roots(ThreadPool::Worker& self);
  /// Runs `id`, then, for as long as each task makes one ready, its most urgent successor.
  void run_chain(ThreadPool::Worker& self, TaskId id);
  void job_done() noexcept { m_wait.done(); }

 private:
  /// Runs one task and releases its inputs; false when it threw (the error is recorded).
  bool execute_task(TaskId id);
  /// Counts `id` as done for its successors. Returns the most urgent one that became ready
  /// (or -1), and pushes the others on `self`'s deque, most urgent on top.
  TaskId release_successors(ThreadPool::Worker& self, TaskId id);
  void fail(std::exception_ptr error) noexcept;
  bool failed() const noexcept { return m_failed.load(std::memory_order_relaxed); }

  std::atomic_ref<std::int32_t> remaining(TaskId id) noexcept {
    return std::atomic_ref<std::int32_t>(m_remaining[static_cast<std::size_t>(id)]);
  }
  std::atomic_ref<std::int32_t> consumers(TaskId id) noexcept {
    return std::atomic_ref<std::int32_t>(m_plan.consumers[static_cast<std::size_t>(id)]);
  }
  Value& result(TaskId id) noexcept { return m_results[static_cast<std::size_t>(id)]; }
  static std::vector<std::int32_t> dependency_counts(const TaskGraph& graph,
                                                     const detail::RunPlan& plan);
  static std::vector<TaskId> sorted_roots(const TaskGraph& graph, const detail::RunPlan& plan);

  ThreadPool& m_pool;
  const TaskGraph& m_graph;
  detail::RunPlan m_plan;  // during the run, `consumers` is only accessed atomically
  detail::Successors m_successors;
  std::vector<std::int32_t> m_remaining;  // dependencies not done yet; accessed atomically
  std::vector<Value> m_results;
  std::vector<TaskId> m_roots;  // sorted by (priority, id)
  std::int64_t m_root_chunk;    // roots claimed at a time
  TaskJob* m_jobs;              // uninitialised storage for one TaskJob per task

  alignas(64) std::atomic<std::int64_t> m_next_root{0};
  alignas(64) std::atomic<bool> m_failed{false};
  std::mutex m_error_mutex;
  std::exception_ptr m_error;  // guarded by m_error_mutex until the run is over

  RootFeeder m_feeder{*this};
  std::int64_t m_feeders;        // copies of m_feeder queued: one per worker with roots to claim
  ThreadPool::WaitGroup m_wait;  // counts the queued or running jobs of this run
};

void TaskJob::execute(ThreadPool::Worker& self) {
  ThreadedRun& run = *m_run;  // *this lives in the run's storage: done() must come last
  run.run_chain(self, m_id);
  run.job_done();
}

void RootFeeder::execute(ThreadPool::Worker& self) { m_run->feed_roots(self); }

ThreadedRun::ThreadedRun(ThreadPool& pool, const TaskGraph& graph, std::span<const TaskId> outputs)
    : m_pool(pool),
      m_graph(graph),
      m_plan(detail::plan_run(graph, outputs)),
      m_successors(detail::build_successors(graph, m_plan)),
      m_remaining(dependency_counts(graph, m_plan)),
      m_results(m_plan.extent),
      m_roots(sorted_roots(graph, m_plan)),
      // Claiming roots a few at a time keeps two workers from interleaving neighbouring roots
      // (they would share the cache lines of counters and values on every task) while staying
      // close to the global priority order; a worker runs the roots it claimed in order.
      m_root_chunk(std::clamp<std::int64_t>(
          static_cast<std::int64_t>(m_roots.size()) / (std::int64_t{pool.num_threads()} * 64), 1,
          16)),
      m_jobs(std::allocator<TaskJob>().allocate(m_plan.extent)),
      m_feeders(std::min<std::int64_t>(
          (static_cast<std::int64_t>(m_roots.size()) + m_root_chunk - 1) / m_root_chunk,
          pool.num_threads())),
      m_wait(m_feeders) {}

std::vector<std::int32_t> ThreadedRun::dependency_counts(const TaskGraph& graph,
                                                         const detail::RunPlan& plan) {
  std::vector<std::int32_t> counts(plan.extent, 0);
  for (TaskId id = 0; static_cast<std::size_t>(id) < plan.extent; ++id) {
    if (plan.needed(id)) {
      counts[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(graph.deps(id).size());
    }
  }
  return counts;
}

std::vector<TaskId> ThreadedRun::sorted_roots(const TaskGraph& graph, const detail::RunPlan& plan) {
  std::vector<TaskId> roots;
  for (TaskId id = 0; static_cast<std::size_t>(id) < plan.extent; ++id) {
    if (plan.needed(id) && graph.deps(id).empty()) roots.push_back(id);
  }
  const auto before = [&](TaskId a, TaskId b) { return detail::runs_before(graph, a, b); };
  if (!std::is_sorted(roots.begin(), roots.end(), before)) {
    std::sort(roots.begin(), roots.end(), before);
  }
  return roots;
}

ThreadedRun::~ThreadedRun() {
  // TaskJob is trivially destructible: the storage can go without destroying the jobs in it.
  static_assert(std::is_trivially_destructible_v<TaskJob>);
  std::allocator<TaskJob>().deallocate(m_jobs, m_plan.extent);
}

std::vector<Value> ThreadedRun::run(std::span<const TaskId> outputs) {
  for (std::int64_t i = 0; i < m_feeders; ++i) m_pool.submit(m_feeder);
  m_wait.wait(m_pool);
  if (m_error) std::rethrow_exception(m_error);
  std::vector<Value> values;
  values.reserve(outputs.size());
  for (TaskId out : outputs) values.push_back(result(out));
  return values;
}

void ThreadedRun::feed_roots(ThreadPool::Worker& self) {
  const auto num_roots = static_cast<std::int64_t>(m_roots.size());
  while (!failed()) {
    const std::int64_t begin = m_next_root.fetch_add(m_root_chunk, std::memory_order_relaxed);
    if (begin >= num_roots) break;
    const std::int64_t end = std::min(begin + m_root_chunk, num_roots);
    for (std::int64_t i = begin; i < end; ++i) {
      run_chain(self, m_roots[static_cast<std::size_t>(i)]);
      // Finish what this root made ready before starting the next one (depth-first).
      while (ThreadPool::Job* job = self.pop()) job->execute(self);
    }
  }
  m_wait.done();  // the last touch of *this
}

void ThreadedRun::run_chain(ThreadPool::Worker& self, TaskId id) {
  while (id >= 0 && !failed()) {
    if (!execute_task(id)) return;
    id = release_successors(self, id);
  }
}

bool ThreadedRun::execute_task(TaskId id) {
  const auto deps = m_graph.deps(id);
  Value value;
  try {
    detail::InputBuffer inputs(deps.size());
    for (std::size_t k = 0; k < deps.size(); ++k) {
      const TaskId dep = deps[k];
      // A consumer count of 1 means every other consumer has finished with the value (each
      // reads it before it decrements): the last one takes the value instead of sharing it, so
      // that it dies with the input buffer, as early as possible.
      if (consumers(dep).load(std::memory_order_acquire) == 1 && !m_plan.output(dep)) {
        inputs[k] = std::move(result(dep));
      } else {
        inputs[k] = result(dep);
      }
    }
    value = detail::invoke_task(m_graph, id, inputs.span());
  } catch (...) {
    fail(std::current_exception());
    return false;
  }
  result(id) = std::move(value);
  for (TaskId dep : deps) {
    if (consumers(dep).fetch_sub(1, std::memory_order_acq_rel) == 1 && !m_plan.output(dep)) {
      result(dep) = Value();
    }
  }
  return true;
}

TaskId ThreadedRun::release_successors(ThreadPool::Worker& self, TaskId id) {
  // Scratch for the ready successors other than the one run next; per thread, so it keeps its
  // capacity across tasks (this function never re-enters on one thread).
  thread_local std::vector<TaskId> others;
  others.clear();
  TaskId next = -1;
  for (TaskId succ : m_successors.of(id)) {
    // acq_rel: the release publishes result(id); the acquire by whoever brings the count to
    // zero makes the results of all of succ's dependencies visible to it.
    if (remaining(succ).fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
    if (next < 0) {
      next = succ;
    } else if (detail::runs_before(m_graph, succ, next)) {
      others.push_back(next);
      next = succ;
    } else {
      others.push_back(succ);
    }
  }
  if (others.empty() || failed()) return next;
  // Least urgent first, so that the most urgent ends up on top, where this worker pops next.
  std::sort(others.begin(), others.end(),
            [&](TaskId a, TaskId b) { return detail::runs_before(m_graph, b, a); });
  m_wait.add(static_cast<std::int64_t>(others.size()));
  for (TaskId succ : others) {
    self.push(*std::construct_at(m_jobs + succ, *this, succ));
  }
  return next;
}

void ThreadedRun::fail(std::exception_ptr error) noexcept {
  std::lock_guard lock(m_error_mutex);
  if (!m_error) m_error = std::move(error);
  m_failed.store(true, std::memory_order_relaxed);
}

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

ThreadedScheduler::ThreadedScheduler(int num_threads)
    : m_owned_pool(std::make_unique<ThreadPool>(resolve_num_threads(num_threads))),
      m_pool(m_owned_pool.get()) {}

ThreadedScheduler::ThreadedScheduler(ThreadPool& pool) noexcept : m_pool(&pool) {}

ThreadedScheduler::~ThreadedScheduler() = default;

std::vector<Value> ThreadedScheduler::run(const TaskGraph& graph, std::span<const TaskId> outputs) {
  if (outputs.empty()) return {};
  ThreadedRun run(*m_pool, graph, outputs);
  return run.run(outputs);
}

}  // namespace tessera
