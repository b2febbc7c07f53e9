#include "exec/dataflow_run.hpp"

#include "exec/chaos.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

namespace tessera::detail {

void DataflowTaskJob::execute(ThreadPool::Worker& self) {
  DataflowRun& run = *m_run;  // *this lives in the run's storage: done() must come last
  if (!m_claimed || run.claim(m_id)) run.run_chain(self, m_id);
  run.job_done();
}

void DataflowRootFeeder::execute(ThreadPool::Worker& self) { m_run->feed_roots(self); }

DataflowRun::DataflowRun(ThreadPool& pool, const TaskGraph& graph, RunPlan plan, RemoteLink* link,
                         MemoryBudget* budget)
    : m_pool(pool),
      m_graph(graph),
      m_plan(std::move(plan)),
      m_link(link),
      m_budget(budget),
      m_held(budget ? m_plan.extent : 0, 0),
      m_spill(budget ? m_plan.extent : 0),
      m_spilled(budget ? m_plan.extent : 0, 0),
      m_successors(build_successors(graph, m_plan)),
      m_remaining(dependency_counts(graph, m_plan)),
      m_results(m_plan.extent),
      m_roots(sorted_roots(graph, m_plan, link != nullptr ? &m_driver_literals : nullptr)),
      // Claiming roots a few at a time keeps two workers from interleaving neighbouring roots
      // (they would share the cache lines of counters and values on every task) while staying
      // close to the global priority order; a worker runs the roots it claimed in order.
      m_root_chunk(std::clamp<std::int64_t>(
          static_cast<std::int64_t>(m_roots.size()) / (std::int64_t{pool.num_threads()} * 64), 1,
          16)),
      m_jobs(std::allocator<DataflowTaskJob>().allocate(m_plan.extent)),
      m_claimed(link != nullptr ? m_plan.extent : 0, 0),
      // A distributed run's single root goes to the driver's judgement (ready_on_driver).
      m_feeders(
          link != nullptr && m_roots.size() == 1
              ? 0
              : std::min<std::int64_t>(
                    (static_cast<std::int64_t>(m_roots.size()) + m_root_chunk - 1) / m_root_chunk,
                    pool.num_threads())),
      // The driver's token: held by distributed runs until finish(); run() releases it at once.
      m_wait(m_feeders + 1) {
  for (TaskId id = 0; static_cast<std::size_t>(id) < m_plan.extent; ++id)
    m_local_tasks += m_plan.runs_here(id) && m_graph.fn(id) ? 1 : 0;
}

std::vector<std::int32_t> DataflowRun::dependency_counts(const TaskGraph& graph,
                                                         const RunPlan& plan) {
  std::vector<std::int32_t> counts(plan.extent, 0);
  for (TaskId id = 0; static_cast<std::size_t>(id) < plan.extent; ++id) {
    if (plan.remote(id)) {
      counts[static_cast<std::size_t>(id)] = 1;  // its delivery
    } else if (plan.needed(id)) {
      counts[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(graph.deps(id).size());
    }
  }
  return counts;
}

std::vector<TaskId> DataflowRun::sorted_roots(const TaskGraph& graph, const RunPlan& plan,
                                              std::vector<TaskId>* driver_literals) {
  std::vector<TaskId> roots;
  for (TaskId id = 0; static_cast<std::size_t>(id) < plan.extent; ++id) {
    if (!plan.runs_here(id) || !graph.deps(id).empty()) continue;
    if (driver_literals != nullptr && plan.publish(id) && !graph.fn(id) &&
        !graph.literal(id).empty()) {
      driver_literals->push_back(id);
    } else {
      roots.push_back(id);
    }
  }
  const auto before = [&](TaskId a, TaskId b) { return runs_before(graph, a, b); };
  if (!std::is_sorted(roots.begin(), roots.end(), before)) {
    std::sort(roots.begin(), roots.end(), before);
  }
  return roots;
}

DataflowRun::~DataflowRun() {
  if (m_watched) trace::unwatch_budget(m_budget);
  if (m_budget) {
    // What the run still holds (its outputs, or everything after a failure) leaves the account.
    for (TaskId id = 0; static_cast<std::size_t>(id) < m_plan.extent; ++id) forget(id);
    if (!m_failed.load(std::memory_order_relaxed)) m_budget->count_tasks(m_local_tasks);
  }
  // The jobs are trivially destructible: the storage can go without destroying the jobs in it.
  static_assert(std::is_trivially_destructible_v<DataflowTaskJob>);
  std::allocator<DataflowTaskJob>().deallocate(m_jobs, m_plan.extent);
}

std::vector<Value> DataflowRun::run(std::span<const TaskId> outputs) {
  const std::int64_t traced_since = trace::on() ? trace::now() : 0;
  start();
  m_wait.done();  // no deliveries in one process
  m_wait.wait(m_pool);
  if (traced_since != 0) {
    trace::record_run(0, traced_since, m_graph.size(), m_plan.num_needed,
                      static_cast<std::uint64_t>(m_local_tasks));
  }
  if (m_error) std::rethrow_exception(m_error);
  std::vector<Value> values;
  values.reserve(outputs.size());
  for (TaskId out : outputs) values.push_back(result(out));
  return values;
}

void DataflowRun::start() {
  if (m_budget && trace::on()) {
    trace::watch_budget(m_budget);
    m_watched = true;
  }
  for (std::int64_t i = 0; i < m_feeders; ++i) m_pool.submit(m_feeder);
  if (m_feeders == 0 && m_roots.size() == 1) ready_on_driver(m_roots.front());
  for (TaskId id : m_driver_literals) {
    if (!execute_task(id)) break;
    release_on_driver(id);
  }
}

void DataflowRun::release_on_driver(TaskId id) {
  for (TaskId succ : m_successors.of(id)) {
    if (remaining(succ).fetch_sub(1, std::memory_order_acq_rel) == 1 && !failed()) {
      ready_on_driver(succ);
    }
  }
}

void DataflowRun::submit_task(TaskId id) {
  m_wait.add(1);  // the driver's token keeps the count above zero meanwhile
  {
    std::lock_guard lock(m_delivered_mutex);
    m_delivered.push_back(id);
    m_delivered_size.store(m_delivered.size(), std::memory_order_release);
  }
  m_pool.submit(*std::construct_at(m_jobs + id, *this, id, true));
}

void DataflowRun::run_delivered(ThreadPool::Worker& self) {
  while (m_delivered_size.load(std::memory_order_acquire) > 0 && !failed()) {
    TaskId id = -1;
    {
      std::lock_guard lock(m_delivered_mutex);
      if (m_delivered.empty()) return;
      // The oldest first: deliveries arrive roughly in the order their consumers are needed.
      id = m_delivered.front();
      m_delivered.pop_front();
      m_delivered_size.store(m_delivered.size(), std::memory_order_release);
    }
    if (!claim(id)) continue;
    run_chain(self, id);
    while (ThreadPool::Job* job = self.pop()) job->execute(self);
  }
}

void DataflowRun::ready_on_driver(TaskId id) {
  if (m_inline < 0 && m_inline_allowed && m_wait.pending() == 1) {
    m_inline = id;
  } else {
    submit_task(id);
  }
}

bool DataflowRun::run_inline() {
  const TaskId id = std::exchange(m_inline, -1);
  if (id < 0) return false;
  const auto t0 = std::chrono::steady_clock::now();
  if (failed() || !execute_task(id)) return true;
  // A task that takes longer than a hand-off to a worker is better run by the pool, which can
  // run it while the driver goes on receiving: this run keeps the rest of its tasks there.
  if (std::chrono::steady_clock::now() - t0 > kInlineTaskLimit) m_inline_allowed = false;
  release_on_driver(id);
  return true;
}

void DataflowRun::finish() {
  m_wait.done();
  m_wait.wait(m_pool);
}

std::exception_ptr DataflowRun::error() const {
  std::lock_guard lock(m_error_mutex);
  return m_error;
}

void DataflowRun::job_done() noexcept {
  // After its done() a job must not touch the run: the thread waiting for the run may find it
  // over and destroy it at once. run()'s waiter returns only once the last done() has let go
  // of m_wait (WaitGroup's guarantee); a distributed run's link counts the job done under its
  // own lock, which its driver takes before it ends the run (RemoteLink::job_done).
  chaos_point();
  if (m_link == nullptr) {
    m_wait.done();
    chaos_point();  // touches nothing of the run
  } else {
    m_link->job_done(m_wait, failed());
  }
}

void DataflowRun::feed_roots(ThreadPool::Worker& self) {
  const auto num_roots = static_cast<std::int64_t>(m_roots.size());
  while (!failed()) {
    const std::int64_t begin = m_next_root.fetch_add(m_root_chunk, std::memory_order_relaxed);
    if (begin >= num_roots) break;
    const std::int64_t end = std::min(begin + m_root_chunk, num_roots);
    for (std::int64_t i = begin; i < end; ++i) {
      admit(m_roots[static_cast<std::size_t>(i)]);
      run_chain(self, m_roots[static_cast<std::size_t>(i)]);
      // Finish what this root made ready before starting the next one (depth-first).
      while (ThreadPool::Job* job = self.pop()) job->execute(self);
      run_delivered(self);
    }
  }
  job_done();  // the last touch of *this
}

void DataflowRun::run_chain(ThreadPool::Worker& self, TaskId id) {
  while (id >= 0 && !failed()) {
    if (!execute_task(id)) return;
    id = release_successors(self, id);
  }
}

void DataflowRun::admit(TaskId root) {
  if (!m_budget) return;
  const std::size_t hint = m_graph.size_hint(root);
  if (hint < MemoryBudget::kTracked || m_budget->fits(hint)) return;
  m_budget->count_held_back();
  // With no consumer of counted values running, nothing will free memory: the root runs, and
  // whatever it makes that must wait is spilled (store).
  while (!failed() && !m_budget->fits(hint) && m_running.load(std::memory_order_acquire) > 0) {
    m_budget->wait_for_release(std::chrono::milliseconds(1));
  }
}

void DataflowRun::store(TaskId id, Value value) {
  // A value that only other ranks read is held by the link until it is sent, not here.
  if (m_plan.consumers[static_cast<std::size_t>(id)] <= 0 && !m_plan.output(id)) return;
  const std::size_t bytes = value.nbytes();
  if (m_budget && bytes >= MemoryBudget::kTracked) {
    // No consumer can read the value yet (it is released after this): it is ours to place.
    // It goes to disk when the budget is full and some consumer waits for something else;
    // one whose consumers all run next stays (spilling it would only delay them).
    bool waits = false;
    for (TaskId succ : m_successors.of(id))
      waits = waits || remaining(succ).load(std::memory_order_relaxed) > 1;
    if (waits && !m_plan.output(id) && !m_budget->fits(bytes)) {
      try {
        if (auto record = m_budget->spill(value)) {
          m_spill[static_cast<std::size_t>(id)] = *record;
          m_spilled[static_cast<std::size_t>(id)] = 1;
          return;
        }
      } catch (...) {
        fail(std::current_exception());  // kept in memory; the run stops with the error
      }
    }
    m_budget->hold(bytes);
    m_held[static_cast<std::size_t>(id)] = bytes;
  }
  result_ref(id) = std::move(value);
}

void DataflowRun::forget(TaskId id) noexcept {
  if (!m_budget) return;
  const auto i = static_cast<std::size_t>(id);
  if (m_held[i] != 0) {
    m_budget->release(std::exchange(m_held[i], 0));
  }
  if (m_spilled[i] != 0) {
    m_spilled[i] = 0;
    m_budget->drop(m_spill[i]);
  }
}

bool DataflowRun::execute_task(TaskId id) {
  const auto deps = m_graph.deps(id);
  Value value;
  // Tasks that consume counted values are what admit() waits for (they free memory); only they
  // are counted, so that small tasks pay no shared counter.
  bool frees = false;
  if (m_budget) {
    for (TaskId dep : deps) {
      const auto d = static_cast<std::size_t>(dep);
      if (m_held[d] != 0 || m_spilled[d] != 0) {
        frees = true;
        break;
      }
    }
  }
  if (frees) m_running.fetch_add(1, std::memory_order_relaxed);
  struct Running {
    std::atomic<std::int32_t>* n;
    ~Running() {
      if (n) n->fetch_sub(1, std::memory_order_release);
    }
  } running{frees ? &m_running : nullptr};
  try {
    InputBuffer inputs(deps.size());
    for (std::size_t k = 0; k < deps.size(); ++k) {
      const TaskId dep = deps[k];
      if (m_budget && m_spilled[static_cast<std::size_t>(dep)] != 0) {
        inputs[k] = m_budget->read_back(m_spill[static_cast<std::size_t>(dep)]);
        continue;
      }
      // A consumer count of 1 means every other consumer has finished with the value (each
      // reads it before it decrements): the last one takes the value instead of sharing it, so
      // that it dies with the input buffer, as early as possible.
      if (consumers(dep).load(std::memory_order_acquire) == 1 && !m_plan.output(dep)) {
        inputs[k] = std::move(result_ref(dep));
      } else {
        inputs[k] = result_ref(dep);
      }
    }
    value = invoke_task(m_graph, id, inputs.span());
    if (m_plan.publish(id)) m_link->publish(id, value);
  } catch (...) {
    fail(std::current_exception());
    return false;
  }
  store(id, std::move(value));
  if (m_count_tasks) m_tasks_done.fetch_add(1, std::memory_order_relaxed);
  for (TaskId dep : deps) {
    if (consumers(dep).fetch_sub(1, std::memory_order_acq_rel) == 1 && !m_plan.output(dep)) {
      result_ref(dep) = Value();
      forget(dep);
    }
  }
  return true;
}

void DataflowRun::deliver(TaskId id, Value value) {
  store(id, std::move(value));
  release_on_driver(id);
}

TaskId DataflowRun::release_successors(ThreadPool::Worker& self, TaskId id) {
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
    } else if (runs_before(m_graph, succ, next)) {
      others.push_back(next);
      next = succ;
    } else {
      others.push_back(succ);
    }
  }
  if (others.empty() || failed()) return next;
  // Least urgent first, so that the most urgent ends up on top, where this worker pops next.
  std::sort(others.begin(), others.end(),
            [&](TaskId a, TaskId b) { return runs_before(m_graph, b, a); });
  m_wait.add(static_cast<std::int64_t>(others.size()));
  for (TaskId succ : others) {
    self.push(*std::construct_at(m_jobs + succ, *this, succ));
  }
  return next;
}

void DataflowRun::fail(std::exception_ptr error) noexcept {
  {
    std::lock_guard lock(m_error_mutex);
    if (!m_error) m_error = std::move(error);
    m_failed.store(true, std::memory_order_relaxed);
  }
  if (m_link) m_link->wake();
}

}  // namespace tessera::detail
