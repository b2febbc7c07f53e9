#include "tessera/exec/distributed_scheduler.hpp"

#include <fmt/format.h>

#include <climits>
#include <cstring>

#include "exec/distributed_run.hpp"
#include "exec/placement.hpp"
#include "tessera/comm/mpi_error.hpp"
#include "tessera/exec/threaded_scheduler.hpp"
#include "tessera/graph/token.hpp"

namespace tessera {

struct DistributedScheduler::State {
  // Three duplicates: control messages, bulk data, and collectives never match each other.
  comm::Communicator ctrl, data, coll;
  std::unique_ptr<ThreadPool> owned_pool;
  ThreadPool* pool = nullptr;
  std::uint32_t seq = 0;
  TransferCounts last;
};

struct DistributedScheduler::Destinations : detail::OutputDestinations {};

namespace {

enum class PlanStatus : std::uint8_t { ok = 0, mismatch = 1, invalid = 2 };

std::unique_ptr<ThreadPool> make_pool(int num_threads) {
  if (num_threads < 0) {
    throw value_error(fmt::format("a scheduler needs a thread count >= 0, got {}", num_threads));
  }
  return std::make_unique<ThreadPool>(num_threads > 0 ? num_threads
                                                      : ThreadedScheduler::default_num_threads());
}

}  // namespace

DistributedScheduler::DistributedScheduler(const comm::Communicator& comm, int num_threads)
    : m(std::make_unique<State>()) {
  m->owned_pool = make_pool(num_threads);
  m->pool = m->owned_pool.get();
  m->ctrl = comm.dup();
  m->data = comm.dup();
  m->coll = comm.dup();
}

DistributedScheduler::DistributedScheduler(const comm::Communicator& comm, ThreadPool& pool)
    : m(std::make_unique<State>()) {
  m->pool = &pool;
  m->ctrl = comm.dup();
  m->data = comm.dup();
  m->coll = comm.dup();
}

DistributedScheduler::~DistributedScheduler() = default;

int DistributedScheduler::rank() const noexcept { return m->coll.rank(); }
int DistributedScheduler::num_ranks() const noexcept { return m->coll.size(); }
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
  return m->coll.allgather_bytes(mine);
}

RunResult DistributedScheduler::execute_impl(const TaskGraph& graph,
                                             std::span<const TaskId> outputs,
                                             const Destinations& destinations) {
  const int me = rank(), size = num_ranks();
  const std::uint32_t seq = ++m->seq;
  // 1. Do all ranks run the same graph? Rank 0 compares every rank's fingerprint.
  Tokenizer t;
  t.add(graph.fingerprint()).add(seq).add(destinations.all_ranks);
  t.add_bytes(outputs.data(), outputs.size_bytes());
  for (const auto& list : destinations.ranks) t.add_range(list);
  const std::uint64_t fingerprint = t.finish();
  std::vector<std::uint64_t> fingerprints(me == 0 ? static_cast<std::size_t>(size) : 0);
  detail::check_mpi(MPI_Gather(&fingerprint, 1, MPI_UINT64_T, fingerprints.data(), 1, MPI_UINT64_T,
                               0, m->coll.native()),
                    "MPI_Gather");
  // 2. Rank 0 plans and broadcasts: a status byte, then the placement or an error message.
  std::vector<std::byte> plan;
  if (me == 0) {
    std::string problem;
    for (int r = 1; r < size; ++r) {
      if (fingerprints[static_cast<std::size_t>(r)] != fingerprint) {
        problem += fmt::format("{}rank {}", problem.empty() ? "" : ", ", r);
      }
    }
    if (!problem.empty()) {
      const std::string text = fmt::format(
          "distributed compute: ranks built different task graphs or asked for different "
          "outputs (collective calls out of order, rank-dependent expressions, or data that "
          "differs between ranks in from_buffer or a literal? per-rank data goes through "
          "from_local): {} differ(s) from rank 0 ({} tasks on rank 0)",
          problem, graph.size());
      plan.push_back(std::byte{static_cast<std::uint8_t>(PlanStatus::mismatch)});
      plan.insert(plan.end(), reinterpret_cast<const std::byte*>(text.data()),
                  reinterpret_cast<const std::byte*>(text.data() + text.size()));
    } else {
      try {
        const auto owner = detail::place_tasks(graph, detail::plan_run(graph, outputs), size);
        plan.resize(1 + owner.size() * sizeof(std::int32_t));
        plan[0] = std::byte{static_cast<std::uint8_t>(PlanStatus::ok)};
        std::memcpy(plan.data() + 1, owner.data(), owner.size() * sizeof(std::int32_t));
      } catch (const std::exception& e) {
        const std::string text = e.what();
        plan.assign(1, std::byte{static_cast<std::uint8_t>(PlanStatus::invalid)});
        plan.insert(plan.end(), reinterpret_cast<const std::byte*>(text.data()),
                    reinterpret_cast<const std::byte*>(text.data() + text.size()));
      }
    }
  }
  m->coll.bcast_bytes(plan, 0);
  const auto status = static_cast<PlanStatus>(plan.at(0));
  if (status != PlanStatus::ok) {
    throw graph_error(std::string(reinterpret_cast<const char*>(plan.data() + 1), plan.size() - 1));
  }
  std::vector<std::int32_t> owner((plan.size() - 1) / sizeof(std::int32_t));
  std::memcpy(owner.data(), plan.data() + 1, owner.size() * sizeof(std::int32_t));

  // 3. Run this rank's share.
  detail::Channels ch{m->ctrl.native(), m->data.native(), m->coll.native(), me, size,
                      m->data.tag_ub()};
  detail::DistributedRun run(*m->pool, graph, ch, owner, outputs, destinations, seq);
  run.run();
  const auto& s = run.stats();
  m->last = {s.values_sent, s.bytes_sent, s.values_received,
             static_cast<std::int64_t>(std::count(owner.begin(), owner.end(), me))};

  RunResult result;
  result.values.reserve(outputs.size());
  result.owners.reserve(outputs.size());
  for (TaskId out : outputs) {
    result.values.push_back(run.result(out));
    const auto o = owner[static_cast<std::size_t>(out)];
    result.owners.push_back(o == detail::kEverywhere ? -1 : o);
  }
  return result;
}

}  // namespace tessera
