#include "tessera/exec/distributed_scheduler.hpp"

#include <fmt/format.h>

#include "comm/message_engine.hpp"
#include "exec/distributed_run.hpp"
#include "exec/memory_budget.hpp"
#include "exec/placement.hpp"
#include "tessera/exec/threaded_scheduler.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

struct DistributedScheduler::State {
  std::unique_ptr<comm::MessageEngine> engine;
  std::unique_ptr<ThreadPool> owned_pool;
  ThreadPool* pool = nullptr;
  std::uint32_t seq = 0;
  TransferCounts last;
  std::unique_ptr<detail::MemoryBudget> budget;
  ProgressCallback progress;  // empty: no progress reports
};

struct DistributedScheduler::Destinations : detail::OutputDestinations {};

namespace {

std::unique_ptr<ThreadPool> make_pool(int num_threads) {
  if (num_threads < 0) {
    throw value_error(fmt::format("a scheduler needs a thread count >= 0, got {}", num_threads));
  }
  return std::make_unique<ThreadPool>(num_threads > 0 ? num_threads
                                                      : ThreadedScheduler::default_num_threads());
}

}  // namespace

DistributedScheduler::DistributedScheduler(const comm::Communicator& comm, int num_threads,
                                           std::size_t memory_budget)
    : m(std::make_unique<State>()) {
  m->owned_pool = make_pool(num_threads);
  m->pool = m->owned_pool.get();
  m->engine = std::make_unique<comm::MessageEngine>(comm);
  m->budget = std::make_unique<detail::MemoryBudget>(
      resolve_memory_budget(memory_budget, memory_budget > 0 ? 1 : comm.ranks_on_node()));
}

DistributedScheduler::DistributedScheduler(const comm::Communicator& comm, ThreadPool& pool,
                                           std::size_t memory_budget)
    : m(std::make_unique<State>()) {
  m->pool = &pool;
  m->engine = std::make_unique<comm::MessageEngine>(comm);
  m->budget = std::make_unique<detail::MemoryBudget>(
      resolve_memory_budget(memory_budget, memory_budget > 0 ? 1 : comm.ranks_on_node()));
}

MemoryStats DistributedScheduler::memory_stats() const { return m->budget->stats(); }

void DistributedScheduler::set_progress(ProgressCallback callback) {
  m->progress = std::move(callback);
}

DistributedScheduler::~DistributedScheduler() = default;

int DistributedScheduler::rank() const noexcept { return m->engine->rank(); }
int DistributedScheduler::num_ranks() const noexcept { return m->engine->size(); }
comm::MessageEngine* DistributedScheduler::message_engine() noexcept { return m->engine.get(); }
int DistributedScheduler::num_threads() const noexcept { return m->pool->num_threads(); }
ThreadPool& DistributedScheduler::pool() const noexcept { return *m->pool; }
TransferCounts DistributedScheduler::last_transfers() const noexcept { return m->last; }

std::vector<Value> DistributedScheduler::run(const TaskGraph& graph,
                                             std::span<const TaskId> outputs) {
  return execute(graph, outputs, ResultPlacement::all_ranks).values;
}

RunResult DistributedScheduler::execute(const TaskGraph& graph, std::span<const TaskId> outputs,
                                        ResultPlacement placement) {
  Destinations d;
  d.all_ranks = placement == ResultPlacement::all_ranks;
  if (!d.all_ranks) {
    d.ranks.assign(outputs.size(),
                   placement == ResultPlacement::root ? std::vector<int>{0} : std::vector<int>{});
  }
  return execute_impl(graph, outputs, d);
}

RunResult DistributedScheduler::execute_to(const TaskGraph& graph, std::span<const TaskId> outputs,
                                           std::span<const std::vector<int>> destinations) {
  if (destinations.size() != outputs.size()) {
    throw value_error(fmt::format("execute_to: {} destination lists for {} outputs",
                                  destinations.size(), outputs.size()));
  }
  Destinations d;
  d.ranks.assign(destinations.begin(), destinations.end());
  for (const auto& list : d.ranks) {
    for (int r : list) {
      if (r < 0 || r >= num_ranks()) {
        throw value_error(fmt::format("execute_to: destination rank {} does not exist ({} ranks)",
                                      r, num_ranks()));
      }
    }
  }
  return execute_impl(graph, outputs, d);
}

std::vector<std::vector<std::byte>> DistributedScheduler::allgather(
    std::span<const std::byte> mine) {
  return m->engine->allgather_bytes(mine);
}

void DistributedScheduler::throw_graphs_differ(std::uint64_t fingerprint) {
  const auto all = m->engine->allgather(fingerprint);
  std::string problem;
  for (std::size_t r = 1; r < all.size(); ++r) {
    if (all[r] != all[0]) problem += fmt::format("{}rank {}", problem.empty() ? "" : ", ", r);
  }
  throw graph_error(fmt::format(
      "distributed compute: ranks built different task graphs or asked for different "
      "outputs (collective calls out of order, rank-dependent expressions, or data that "
      "differs between ranks in from_buffer or a literal? per-rank data goes through "
      "from_local): {} differ(s) from rank 0",
      problem));
}

RunResult DistributedScheduler::execute_impl(const TaskGraph& graph,
                                             std::span<const TaskId> outputs,
                                             const Destinations& destinations) {
  const int me = rank(), size = num_ranks();
  const std::uint32_t seq = ++m->seq;
  // 1. Do all ranks run the same graph? One allreduce of a fingerprint says whether they
  // agree; only when they do not, a second names the ranks that differ.
  Tokenizer t;
  t.add(graph.fingerprint()).add(seq).add(destinations.all_ranks);
  t.add_bytes(outputs.data(), outputs.size_bytes());
  for (const auto& list : destinations.ranks) t.add_range(list);
  const std::uint64_t fingerprint = t.finish();
  m->engine->set_activity(fmt::format("compute #{}", seq));
  // 2. Every rank places the tasks itself and starts its share while the allreduce is under
  // way: the placement is a deterministic function of the graph (size hints included), so
  // when the graphs agree no plan needs broadcasting, and when they do not the run stops on
  // every rank before any value from another rank is used.
  auto agreement = m->engine->start_all_equal(fingerprint);
  std::vector<std::int32_t> owner;
  std::unique_ptr<detail::DistributedRun> run;
  try {
    owner = detail::place_tasks(graph, detail::plan_run(graph, outputs), size);
    run = std::make_unique<detail::DistributedRun>(*m->pool, graph, *m->engine, owner, outputs,
                                                   destinations, seq, agreement, m->budget.get(),
                                                   m->progress ? &m->progress : nullptr);
  } catch (...) {
    // The same error on every rank when the graphs agree; first learn whether they do.
    if (!m->engine->finish(*agreement)) throw_graphs_differ(fingerprint);
    throw;
  }
  // 3. Run this rank's share.
  run->run();
  if (run->graphs_differ()) throw_graphs_differ(fingerprint);
  const auto& s = run->stats();
  m->last = {s.values_sent, s.bytes_sent, s.values_received,
             static_cast<std::int64_t>(std::count(owner.begin(), owner.end(), me))};

  RunResult result;
  result.values.reserve(outputs.size());
  result.owners.reserve(outputs.size());
  for (TaskId out : outputs) {
    result.values.push_back(run->result(out));
    const auto o = owner[static_cast<std::size_t>(out)];
    result.owners.push_back(o == detail::kEverywhere ? ChunkOwners::every_rank : o);
  }
  return result;
}

}  // namespace tessera
