// The seed workloads, in C++: the example job that README's first command runs.
//
//   tessera_seeds [--threads N] [--scheduler distributed|threaded|synchronous] [--scale S]
//   mpirun -n 2 tessera_seeds          (or srun -n 2 ..., or slurm/tessera.sbatch)
//
// The default scheduler is the distributed one over every MPI rank (one rank without
// mpirun); `threaded` and `synchronous` run each rank on its own (for comparison). Each
// workload prints a line with its timing and a `result` line with its value only, identical
// at every rank count (scripts/slurm-local compares those between mpirun, srun and sbatch).
//
// 1. linspace_sum:      linspace(1, 10, 1e6) in 1000 chunks, sum.
// 2. normal_mean_axis0: a 20000x20000 normal(10, 0.1) array in 1000x1000 chunks (3.2 GB,
//                       never held in memory: it is generated and reduced chunk by chunk),
//                       mean over axis 0, every 100th element.
// 3. poly_sum:          (2*x + 1) ** 3 over x = arange(2e8) / 2e8 (1.6 GB), summed without
//                       any full-size temporary.
// --scale shrinks or grows the two large arrays (1 = the seed sizes).

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <xtensor/xview.hpp>

#include "tessera/tessera.hpp"

namespace {

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tessera seed workloads: NumPy-style expressions on chunked arrays"};
  int threads = 0;
  std::string scheduler_name = "distributed";
  double scale = 1.0;
  std::uint64_t seed = 42;
  app.add_option("--threads", threads,
                 "worker threads per rank (0: TESSERA_NUM_THREADS, SLURM_CPUS_PER_TASK, or the "
                 "cores given to the rank)");
  app.add_option("--scheduler", scheduler_name, "distributed, threaded or synchronous")
      ->check(CLI::IsMember({"distributed", "threaded", "synchronous"}));
  app.add_option("--scale", scale, "size factor for the two large workloads")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed");
  std::string trace_path, report_path;
  app.add_option("--trace", trace_path,
                 "write a task-stream trace of the job to this file (Chrome trace-event JSON, "
                 "for ui.perfetto.dev)");
  app.add_option("--report", report_path,
                 "write a performance report of the job to this HTML file");
  CLI11_PARSE(app, argc, argv);

  using namespace tessera;
  try {
    // collective: MPI, pool, scheduler
    Runtime runtime(argc, argv, {.threads = threads, .trace = trace_path});
    std::unique_ptr<Scheduler> local;
    if (scheduler_name == "synchronous") local = std::make_unique<SynchronousScheduler>();
    if (scheduler_name == "threaded") local = std::make_unique<ThreadedScheduler>(threads);
    Scheduler& scheduler = local ? *local : runtime.scheduler();
    std::optional<PerformanceReport> performance;  // written when main's work is done
    if (!report_path.empty()) performance.emplace(report_path, scheduler);
    const ComputeOptions on{.scheduler = &scheduler};
    // Every rank computes (collectively); rank 0 reports.
    const bool report = runtime.rank() == 0;
    const auto print = [&](const std::string& line) {
      if (report) fmt::print("{}\n", line);
    };
    print(fmt::format("tessera seeds: {} scheduler, {} rank(s) x {} thread(s)\n", scheduler.name(),
                      local ? 1 : runtime.num_ranks(), scheduler.num_threads()));

    // 1. linspace_sum
    double total = 0;
    const double t1 =
        seconds([&] { total = linspace(1, 10, 1'000'000, 1000).sum().item<double>(on); });
    print(
        fmt::format("linspace_sum       sum(linspace(1, 10, 1e6), 1000 chunks) = {:.6f}   {:.4f} s",
                    total, t1));
    print(fmt::format("result linspace_sum {:.9f}", total));

    // 2. normal_mean_axis0
    const auto n = static_cast<index_t>(std::round(20000 * std::sqrt(scale)));
    xt::xarray<double> means;
    const double t2 = seconds([&] {
      Array x = default_rng(seed).normal(10, 0.1, {n, n}, 1000);
      means = x.mean(0)[{Slice{std::nullopt, std::nullopt, 100}}].compute<double>(on);
    });
    const double first = means.size() ? means(0) : 0.0, msum = xt::sum(means)();
    print(fmt::format(
        "normal_mean_axis0  normal(10, 0.1, ({0}, {0})).mean(axis=0)[::100]: {1} values, "
        "first {2:.6f}, sum {3:.6f}   {4:.4f} s",
        n, means.size(), first, msum, t2));
    print(fmt::format("result normal_mean_axis0 {} {:.12f} {:.12f}", means.size(), first, msum));

    // 3. poly_sum
    const auto len = static_cast<index_t>(std::round(2e8 * scale));
    double poly = 0;
    const double t3 = seconds([&] {
      Array x = arange(0.0, static_cast<double>(len), 1.0, {.chunks = 10'000'000}) /
                static_cast<double>(len);
      poly = pow(2 * x + 1, 3).sum().item<double>(on);
    });
    print(fmt::format(
        "poly_sum           sum((2*x + 1) ** 3), x = arange({}) / {} = {:.6f}   {:.4f} s", len, len,
        poly, t3));
    print(fmt::format("result poly_sum {:.6f}", poly));
  } catch (const std::exception& e) {
    // Errors of collective computes arrive on every rank with the same message.
    fmt::print(stderr, "tessera_seeds: {}\n", e.what());
    return 1;
  }
  return 0;
}
