// tessera_bench: the Tessera side of the benchmark command (benchmarks/run drives it).
//
//   tessera_bench [--threads N] [--scheduler distributed|threaded] [--repeat R] [--json FILE]
//                 [--read-gbps X] [--scale S] [--probe] [workload ...]
//   mpirun -n 2 tessera_bench --threads 1 [workload ...]
//
// Runs the named workloads (all of them when none is named) and prints one JSON object per
// line on stdout: name, tessera_s (median of the timed runs), times_s, checksum (the result,
// to compare with Dask's), peak_rss_mb, threads, ranks and figures of the workload's own.
// --json FILE also writes them as one JSON list. --probe adds the STREAM-like bandwidth probe
// (alone, without workload names, it runs only the probe).
//
// By default main() creates a tessera::Runtime, and every workload runs on its
// DistributedScheduler over MPI_COMM_WORLD: without mpirun (or with mpirun -n 1) that is one
// rank with --threads workers, under mpirun -n R it is R ranks of --threads workers each.
// Every rank runs every workload (compute is collective); each timed run starts at a barrier
// and counts as long as its slowest rank; rank 0 alone prints and writes the JSON.
// --scheduler threaded runs on a ThreadedScheduler instead (one process only).
// The workloads are the ones of benchmarks/dask_peer.py, built the same way, and
// graph construction is timed wherever the Dask version times it. See benchmarks/README.md.

#include <fcntl.h>
#include <mpi.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tessera/tessera.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// --- peak memory --------------------------------------------------------------------------

/// A field of /proc/self/status in kB ("VmHWM", "VmRSS"), or nullopt where there is none.
std::optional<double> proc_status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1));
  }
  return std::nullopt;
}

/// Resets the kernel's peak-RSS mark (VmHWM) so that the next reading is this workload's own
/// peak, not that of whatever ran before it in this process. False where the kernel refuses.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

/// Peak resident memory in MB (10^6 bytes): VmHWM when available (resettable), else
/// getrusage's ru_maxrss (the peak of the whole process so far).
double peak_rss_mb() {
  if (auto kb = proc_status_kb("VmHWM")) return *kb * 1024.0 / 1e6;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0 / 1e6;
}

// --- ranks -----------------------------------------------------------------------------------
// The benchmark's own collectives, on MPI_COMM_WORLD (the scheduler runs on duplicates of it,
// so these never meet its messages). With one process they are trivial.

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void barrier() { MPI_Barrier(MPI_COMM_WORLD); }

double max_over_ranks(double v) {
  double out = v;
  MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

std::int64_t sum_over_ranks(std::int64_t v) {
  std::int64_t out = v;
  MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return out;
}

/// Every rank's `v` in rank order, on rank 0 (empty elsewhere).
std::vector<double> gather_on_root(double v) {
  std::vector<double> all(world_rank() == 0 ? static_cast<std::size_t>(world_size()) : 0);
  MPI_Gather(&v, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return all;
}

std::vector<std::int64_t> gather_on_root(std::int64_t v) {
  std::vector<std::int64_t> all(world_rank() == 0 ? static_cast<std::size_t>(world_size()) : 0);
  MPI_Gather(&v, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  return all;
}

// --- bandwidth probe ------------------------------------------------------------------------

/// Runs `setup(t)` once and then `body(t)` `reps` times on each of `threads` threads, and
/// returns the wall time of every repetition. The threads live across repetitions and start
/// each one together at a barrier, so thread creation and the untimed setup (first touch of
/// each thread's pages, which places them and faults them in) stay out of the timings.
std::vector<double> timed_team(int threads, int reps, const std::function<void(int)>& setup,
                               const std::function<void(int)>& body) {
  std::barrier sync(threads + 1);
  std::vector<std::jthread> team;
  for (int t = 0; t < threads; ++t) {
    team.emplace_back([&, t] {
      setup(t);
      for (int r = 0; r < reps; ++r) {
        sync.arrive_and_wait();
        body(t);
        sync.arrive_and_wait();
      }
    });
  }
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    sync.arrive_and_wait();
    const auto t0 = Clock::now();
    sync.arrive_and_wait();
    times.push_back(seconds_since(t0));
  }
  return times;
}

/// Sum of p[0..n). Many independent partial sums, so that the compiler can keep several
/// vector adds in flight without reassociating (no -ffast-math): the loop is then limited by
/// memory, not by the latency of one dependent add chain.
double read_kernel(const double* p, std::size_t n) {
  constexpr std::size_t kLanes = 32;
  double acc[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t j = 0; j < kLanes; ++j) acc[j] += p[i + j];
  }
  double s = 0;
  for (; i < n; ++i) s += p[i];
  for (double a : acc) s += a;
  return s;
}

struct Range {
  std::size_t begin;
  std::size_t end;
};

Range part_of(std::size_t n, int parts, int index) {
  const auto p = static_cast<std::size_t>(parts);
  const auto k = static_cast<std::size_t>(index);
  return {n * k / p, n * (k + 1) / p};
}

/// Operator new[] without value-initialisation: the pages stay untouched until each thread
/// writes its own part (first touch decides which memory node backs them).
std::unique_ptr<double[]> uninitialised(std::size_t n) {
  return std::unique_ptr<double[]>(new double[n]);
}

/// STREAM-like probe: read bandwidth (a sum over `bytes` of float64, each thread its part)
/// and triad (a = b + s*c over three arrays of bytes/4 each), medians of `reps` runs, in GB/s.
/// STREAM's accounting: triad moves 3 x 8 bytes per element (write-allocate not counted).
json bandwidth_probe(int threads, std::size_t bytes, int reps) {
  json out;
  const std::size_t n = bytes / sizeof(double);
  {
    auto a = uninitialised(n);
    std::vector<double> sums(static_cast<std::size_t>(threads), 0.0);
    const auto times = timed_team(
        threads, reps,
        [&](int t) {
          const Range r = part_of(n, threads, t);
          std::fill(a.get() + r.begin, a.get() + r.end, 1.0);
        },
        [&](int t) {
          const Range r = part_of(n, threads, t);
          sums[static_cast<std::size_t>(t)] = read_kernel(a.get() + r.begin, r.end - r.begin);
        });
    double total = 0;
    for (double s : sums) total += s;
    if (total != static_cast<double>(n)) throw std::runtime_error("bandwidth probe: wrong sum");
    const double t = median(times);
    out["read_gbps"] = static_cast<double>(n * sizeof(double)) / t / 1e9;
    out["read_bytes"] = n * sizeof(double);
    out["read_times_s"] = times;
    out["tessera_s"] = t;
  }
  {
    const std::size_t m = n / 4;
    auto a = uninitialised(m);
    auto b = uninitialised(m);
    auto c = uninitialised(m);
    const double s = 3.0;
    const auto times = timed_team(
        threads, reps,
        [&](int t) {
          const Range r = part_of(m, threads, t);
          std::fill(a.get() + r.begin, a.get() + r.end, 0.0);
          std::fill(b.get() + r.begin, b.get() + r.end, 1.0);
          std::fill(c.get() + r.begin, c.get() + r.end, 2.0);
        },
        [&](int t) {
          const Range r = part_of(m, threads, t);
          double* __restrict pa = a.get();
          const double* __restrict pb = b.get();
          const double* __restrict pc = c.get();
          for (std::size_t i = r.begin; i < r.end; ++i) pa[i] = pb[i] + s * pc[i];
        });
    if (a[m / 2] != 7.0) throw std::runtime_error("bandwidth probe: wrong triad result");
    out["triad_gbps"] = static_cast<double>(3 * m * sizeof(double)) / median(times) / 1e9;
    out["triad_times_s"] = times;
  }
  return out;
}

// --- workloads --------------------------------------------------------------------------------

struct Settings {
  int threads = 0;
  std::string scheduler = "distributed";
  int repeat = 0;  // 0: the workload's default
  double scale = 1.0;
  std::uint64_t seed = 42;
  std::optional<double> read_gbps;  // for limit_fraction; measured here when not given
  std::size_t probe_bytes = std::size_t{1} << 30;
  int probe_repeat = 5;
};

struct Context {
  const Settings& settings;
  tessera::Scheduler& scheduler;
  tessera::ComputeOptions on;
  /// The same scheduler when it is the distributed one (null for --scheduler threaded).
  tessera::DistributedScheduler* distributed = nullptr;
  int rank = 0;
  int ranks = 1;
};

/// How one workload is run: `prepare` (untimed, once) returns the timed function, which
/// returns the checksum. `warmup` untimed runs come first: one for the millisecond-scale
/// workloads, whose first run would otherwise include one-time costs (waking the workers,
/// the allocator's first page faults) that Dask's best-of-N excludes too.
struct Workload {
  std::string description;
  int default_repeat;
  int warmup;
  std::function<std::function<double()>(Context&, json&)> prepare;
  /// Adds figures derived from the median time (GB/s, per-task cost) to the result.
  std::function<void(const Context&, double median_s, json&)> finish = {};
  /// Instead of prepare: a workload that times itself and fills tessera_s and times_s.
  std::function<void(Context&, json&)> custom = {};
  /// The fewest ranks the workload can run on.
  int min_ranks = 1;
};

tessera::index_t scaled(double base, double scale) {
  return std::max<tessera::index_t>(1, static_cast<tessera::index_t>(std::llround(base * scale)));
}

/// The probe's read bandwidth, for limit_fraction: the driver's figure when it gave one, else
/// measured here, by rank 0 alone with every thread of the job (the ranks share the node's
/// memory), while the others wait.
double read_gbps(const Context& ctx) {
  if (ctx.settings.read_gbps) return *ctx.settings.read_gbps;
  double gbps = 0;
  if (ctx.rank == 0) {
    gbps = bandwidth_probe(ctx.scheduler.num_threads() * ctx.ranks, ctx.settings.probe_bytes,
                           ctx.settings.probe_repeat)["read_gbps"]
               .get<double>();
  }
  MPI_Bcast(&gbps, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return gbps;
}

/// Where the file workloads keep their data: TESSERA_BENCH_DATA, else $TMPDIR/tessera-bench.
/// Files are made once (by the first run that needs them) and reused.
std::string bench_data_file(const std::string& name) {
  namespace fs = std::filesystem;
  const char* env = std::getenv("TESSERA_BENCH_DATA");
  const fs::path dir = env && *env ? fs::path(env) : fs::temp_directory_path() / "tessera-bench";
  fs::create_directories(dir);
  return (dir / name).string();
}

/// The hdf5_* workloads' x: uniform(0, 1) of n x n float64 in a file chunked 1000 x 1000, made
/// by to_hdf5 on the first run that needs it (collective; every rank sees the same file system).
std::string hdf5_mean_file(const Context& ctx, tessera::index_t n) {
  using namespace tessera;
  const std::string path = bench_data_file(fmt::format("hdf5_mean_{}.h5", n));
  if (!std::filesystem::exists(path)) {
    to_hdf5(path, "x", default_rng(ctx.settings.seed).uniform(0, 1, {n, n}, 1000),
            {.chunks = ChunkSpec({1000, 1000}), .compute = ctx.on});
  }
  return path;
}

/// The hdf5_gzip_* workloads' file: hdf5_mean's x compressed (gzip level 1 after HDF5's shuffle,
/// chunked 1000 x 1000), made on the first run that needs it.
std::string hdf5_gzip_file(const Context& ctx, tessera::index_t n) {
  using namespace tessera;
  const std::string path = bench_data_file(fmt::format("hdf5_gzip_{}.h5", n));
  if (!std::filesystem::exists(path)) {
    to_hdf5(path, "x", from_hdf5(hdf5_mean_file(ctx, n), "x", {.scheduler = ctx.on.scheduler}),
            {.chunks = ChunkSpec({1000, 1000}),
             .compression = {.gzip = 1, .shuffle = true},
             .compute = ctx.on});
  }
  return path;
}

/// A plain sequential read of the whole file (8 MiB preads, one thread, rank 0 alone while the
/// others wait): the figure the file workloads are held against. GB/s.
double sequential_read_gbps(const Context& ctx, const std::string& path) {
  double gbps = 0;
  if (ctx.rank == 0) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error("cannot open " + path);
    std::vector<char> buf(std::size_t{8} << 20);
    std::vector<double> runs;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = Clock::now();
      std::uint64_t total = 0;
      for (ssize_t got; (got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(total))) > 0;)
        total += static_cast<std::uint64_t>(got);
      runs.push_back(static_cast<double>(total) /
                     std::chrono::duration<double>(Clock::now() - t0).count() / 1e9);
    }
    ::close(fd);
    std::sort(runs.begin(), runs.end());
    gbps = runs[1];
  }
  MPI_Bcast(&gbps, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  return gbps;
}

/// mean(axis=0) of the dataset `file` makes; `limited`: held against a sequential read of it.
Workload hdf5_mean_workload(std::string description,
                            std::string (*file)(const Context&, tessera::index_t), bool limited) {
  return {
      .description = std::move(description),
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [file, limited](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(16000, ctx.settings.scale);
        const std::string path = file(ctx, n);
        out["file"] = path;
        out["bytes"] = static_cast<double>(n) * static_cast<double>(n) * 8.0;
        if (limited) out["seq_read_gbps"] = sequential_read_gbps(ctx, path);
        return [path, on = ctx.on] {
          const Array x = from_hdf5(path, "x", {.scheduler = on.scheduler});
          return x.mean(0).sum().item<double>(on);
        };
      },
      .finish =
          [](const Context&, double median_s, json& out) {
            const double gbps = out["bytes"].get<double>() / median_s / 1e9;
            out["gb_per_s"] = gbps;
            if (out.contains("seq_read_gbps"))
              out["limit_fraction"] = gbps / out["seq_read_gbps"].get<double>();
          },
  };
}

/// Each rank's memory budget, and the most any rank held and spilled.
void report_memory(const Context& ctx, json& out) {
  const tessera::MemoryStats m = ctx.scheduler.memory_stats();
  out["budget_mb"] = static_cast<double>(m.budget) / 1e6;
  out["peak_held_mb"] = max_over_ranks(static_cast<double>(m.peak_held) / 1e6);
  out["spilled_mb"] = max_over_ranks(static_cast<double>(m.spilled_bytes) / 1e6);
}

/// GB/s of the workload's `bytes` at the median time, and each rank's memory figures.
void report_bandwidth_and_memory(const Context& ctx, double median_s, json& out) {
  out["gb_per_s"] = out["bytes"].get<double>() / median_s / 1e9;
  report_memory(ctx, out);
}

/// `f(x)` for hdf5_mean's x written to a new HDF5 file chunked 1000 x 1000 (`compression`);
/// the result is the sum of the output's first row, which Dask's run gives too. Reports the
/// budget, the peak held and the bytes spilled per rank.
Workload hdf5_write_workload(std::string description, std::string target,
                             std::function<tessera::Array(const tessera::Array&)> f,
                             tessera::Hdf5Compression compression) {
  return {
      .description = std::move(description),
      .default_repeat = 3,
      .warmup = 0,
      .prepare = [target, f, compression](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(16000, ctx.settings.scale);
        const std::string path = hdf5_mean_file(ctx, n);
        const std::string out_path =
            bench_data_file(fmt::format("{}_{}_r{}.h5", target, n, ctx.ranks));
        out["file"] = path;
        out["bytes"] = static_cast<double>(n) * static_cast<double>(n) * 8.0;
        return [path, out_path, f, compression, on = ctx.on] {
          const Array x = from_hdf5(path, "x", {.scheduler = on.scheduler});
          to_hdf5(out_path, "x", f(x),
                  {.chunks = ChunkSpec({1000, 1000}),
                   .compression = compression,
                   .overwrite = true,
                   .compute = on});
          return from_hdf5(out_path, "x", {.scheduler = on.scheduler})[{0}].sum().item<double>(on);
        };
      },
      .finish = report_bandwidth_and_memory,
  };
}

/// rechunk_transpose: 16000 x 16000 uniform(0, 1) float64 in row panels of 500 rows,
/// persisted, then rechunked to column panels of 500 columns and summed (dask#6552's case).
/// The persist is outside the timing: what is timed is the redistribution.
Workload rechunk_transpose() {
  return {
      .description =
          "x = uniform(0, 1, (16000, 16000)) in row panels of 500 rows, persisted (2 GB); "
          "rechunk(x, (16000, 500)).sum() timed: a redistribution of every chunk",
      .default_repeat = 3,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(16000, std::sqrt(ctx.settings.scale));
        const index_t panel = std::min<index_t>(n, 500);
        out["bytes"] = static_cast<double>(n) * static_cast<double>(n) * 8.0;
        const Array x =
            default_rng(ctx.settings.seed).uniform(0, 1, {n, n}, {panel, n}).persist(ctx.on);
        return [x, n, panel, on = ctx.on] { return rechunk(x, {n, panel}).sum().item<double>(on); };
      },
      .finish = report_bandwidth_and_memory,
  };
}

/// rows x cols outputs of keep * u + rate * laplacian(u) from a grown block of row length
/// `width`, compiled for AVX2 and AVX-512 too and chosen at run time (the library's portable
/// build targets SSE2; a user's kernel may dispatch on the CPU as NumPy's loops do).
__attribute__((target_clones("avx512f", "avx2", "default"))) void laplacian_rows(
    const double* p, double* o, tessera::index_t rows, tessera::index_t cols,
    tessera::index_t width, double keep, double rate) {
  for (tessera::index_t i = 0; i < rows; ++i) {
    const double* c = p + (i + 1) * width + 1;
    double* row = o + i * cols;
    for (tessera::index_t j = 0; j < cols; ++j) {
      row[j] = keep * c[j] + rate * (c[j - width] + c[j + width] + c[j - 1] + c[j + 1] - 4 * c[j]);
    }
  }
}

/// The periodic 5-point Laplacian of a chunk grown by one element (map_overlap's typed kernel:
/// it writes its output in place), plus `u` times `keep` (0: the Laplacian alone; 1 with rate r:
/// one explicit diffusion step).
auto laplacian_kernel(double keep, double rate) {
  return [keep, rate](const tessera::BlockInfo&, auto& out, const auto& u) {
    laplacian_rows(u.data(), out.data(), static_cast<tessera::index_t>(out.shape()[0]),
                   static_cast<tessera::index_t>(out.shape()[1]),
                   static_cast<tessera::index_t>(u.shape()[1]), keep, rate);
  };
}

/// stencil: a periodic 5-point Laplacian by map_overlap (depth 1) of a persisted 10000 x 10000
/// uniform array in 1000 x 1000 chunks, summed; the persist is not timed.
Workload stencil() {
  return {
      .description =
          "x = uniform(0, 1, (10000, 10000), chunks 1000), persisted (800 MB); "
          "map_overlap(laplacian, x, depth 1, periodic, stencil).sum() timed",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(10000, std::sqrt(ctx.settings.scale));
        out["bytes"] = static_cast<double>(n) * static_cast<double>(n) * 8.0;
        const Array x = default_rng(ctx.settings.seed).uniform(0, 1, {n, n}, 1000).persist(ctx.on);
        return [x, on = ctx.on] {
          return map_overlap<double>(laplacian_kernel(0, 1), x, {1}, {Boundary::periodic()},
                                     {.stencil = true})
              .sum()
              .item<double>(on);
        };
      },
      .finish = report_bandwidth_and_memory,
  };
}

/// stencil_steps: 100 explicit diffusion steps u += 0.2 laplacian(u) (periodic) of stencil's x,
/// each a map_overlap, u persisted every 10 steps (so the graph and the memory do not grow
/// with the steps); the sum of the last u (which the periodic Laplacian conserves).
Workload stencil_steps() {
  return {
      .description =
          "100 steps u = map_overlap(u + 0.2 laplacian(u), depth 1, periodic, stencil) of "
          "stencil's x, "
          "persisted every 10 steps; u.sum() at the end",
      .default_repeat = 1,
      .warmup = 0,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(10000, std::sqrt(ctx.settings.scale));
        // Per step: u read (with its halo) and the new u written.
        out["bytes"] = 100 * 2 * static_cast<double>(n) * static_cast<double>(n) * 8.0;
        const Array x = default_rng(ctx.settings.seed).uniform(0, 1, {n, n}, 1000).persist(ctx.on);
        return [x, on = ctx.on] {
          Array u = x;
          for (int step = 1; step <= 100; ++step) {
            u = map_overlap<double>(laplacian_kernel(1, 0.2), u, {1}, {Boundary::periodic()},
                                    {.stencil = true});
            if (step % 10 == 0) u = u.persist(on);
          }
          return u.sum().item<double>(on);
        };
      },
      .finish = report_bandwidth_and_memory,
  };
}

/// Seconds of one single-process OpenBLAS dgemm of two n x n matrices on rank 0, with as many
/// BLAS threads as the job has workers (the others wait): the hardware bound matmul is held to.
/// Under mpirun, rank 0 is usually bound to one core, so the figure is fair at one rank only;
/// benchmarks/run gives the lines of more ranks the 1-rank line's figure.
double reference_dgemm_seconds(const Context& ctx, tessera::index_t n) {
  double seconds = 0;
  if (ctx.rank == 0) {
    const auto size = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
    std::vector<double> a(size), b(size), c(size);
    for (std::size_t i = 0; i < size; ++i) {
      a[i] = static_cast<double>(i % 1009) / 1009.0;
      b[i] = static_cast<double>(i % 997) / 997.0;
    }
    openblas_set_num_threads(ctx.scheduler.num_threads() * ctx.ranks);
    const auto bi = static_cast<blasint>(n);
    const auto start = Clock::now();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi, bi, bi, 1.0, a.data(), bi, b.data(),
                bi, 0.0, c.data(), bi);
    seconds = std::chrono::duration<double>(Clock::now() - start).count();
    openblas_set_num_threads(1);  // Tessera's block products run one per worker
  }
  // The other ranks wait asleep: a blocking broadcast polls, and would take a core from BLAS.
  MPI_Request request;
  MPI_Ibcast(&seconds, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD, &request);
  for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return seconds;
}

/// matmul: x @ y of two persisted 8000 x 8000 uniform float64 arrays in 2000 x 2000 chunks,
/// summed; beside one single-process dgemm of the same size (dgemm_s, the same run) and the
/// untimed generation of x and y (generate_s).
Workload matmul_8000() {
  return {
      .description =
          "x, y = uniform(0, 1, (8000, 8000), chunks 2000), persisted (generate_s); "
          "matmul(x, y).sum() timed; dgemm_s: one single-process OpenBLAS dgemm of 8000^2",
      .default_repeat = 3,
      .warmup = 0,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(8000, std::cbrt(ctx.settings.scale));
        const index_t chunk = std::max<index_t>(1, n / 4);
        out["flop"] = 2.0 * std::pow(static_cast<double>(n), 3);
        const auto start = Clock::now();
        auto rng = default_rng(ctx.settings.seed);
        const Array x = rng.uniform(0, 1, {n, n}, chunk).persist(ctx.on);
        const Array y = rng.uniform(0, 1, {n, n}, chunk).persist(ctx.on);
        out["generate_s"] = std::chrono::duration<double>(Clock::now() - start).count();
        out["dgemm_s"] = reference_dgemm_seconds(ctx, n);
        return [x, y, on = ctx.on] { return matmul(x, y).sum().item<double>(on); };
      },
      .finish =
          [](const Context& ctx, double median_s, json& out) {
            out["gflop_per_s"] = out["flop"].get<double>() / median_s / 1e9;
            out["dgemm_fraction"] = out["dgemm_s"].get<double>() / median_s;
            report_memory(ctx, out);
          },
  };
}

/// tsqr: the QR factorisation of a persisted 2,000,000 x 100 uniform float64 array in panels of
/// 100,000 rows: q and r both computed (q summed, r's squares summed: the checksum, which is
/// the sum of the squares of x).
Workload tsqr() {
  return {
      .description =
          "x = uniform(0, 1, (2000000, 100), chunks (100000, 100)), persisted (1.6 GB); "
          "q, r = linalg.qr(x); compute(q.sum(), (r * r).sum()) timed",
      .default_repeat = 3,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto m = scaled(2000000, ctx.settings.scale);
        out["bytes"] = static_cast<double>(m) * 100 * 8.0;
        const Array x = default_rng(ctx.settings.seed)
                            .uniform(0, 1, {m, 100}, ChunkSpec{std::min<index_t>(m, 100000), 100})
                            .persist(ctx.on);
        return [x, on = ctx.on] {
          const auto [q, r] = linalg::qr(x);
          const auto [qs, rs] = compute(on, q.sum(), (r * r).sum());
          (void)qs;  // q is computed in full; its sum is no checksum (its signs are arbitrary)
          return rs.data_as<double>()[0];
        };
      },
      .finish = report_bandwidth_and_memory,
  };
}

/// multi_stats: mean, std, min and max of one random array in one compute (dask.compute of
/// the four), beside the mean alone (single_s) in the same process.
Workload multi_stats() {
  return {
      .description =
          "x = uniform(0, 1, (8000, 8000), chunks 1000); compute(x.mean(), x.std(), x.min(), "
          "x.max()) in one pass; single_s: x.mean() alone",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        using namespace tessera;
        const auto n = scaled(8000, std::sqrt(ctx.settings.scale));
        const Array x = default_rng(ctx.settings.seed).uniform(0, 1, {n, n}, 1000);
        std::vector<double> single;
        for (int i = 0; i < 5; ++i) {
          barrier();
          const auto t0 = Clock::now();
          (void)x.mean().item<double>(ctx.on);
          single.push_back(max_over_ranks(seconds_since(t0)));
        }
        out["single_s"] = median(single);
        return [x, on = ctx.on] {
          const auto [mean, sd, lo, hi] = compute(on, x.mean(), x.std(), x.min(), x.max());
          if (mean.size() == 0) return 0.0;  // not the root
          return *mean.data_as<double>() + *sd.data_as<double>() + *lo.data_as<double>() +
                 *hi.data_as<double>();
        };
      },
      .finish = [](const Context&, double median_s,
                   json& out) { out["vs_single"] = median_s / out["single_s"].get<double>(); },
  };
}

/// 100,000 tasks that each return their index, summed by a tree of fan-in 8.
struct TrivialGraph {
  tessera::TaskGraph graph;
  tessera::TaskId root = -1;
};

TrivialGraph trivial_graph(std::int64_t leaves) {
  using tessera::TaskId;
  using tessera::Value;
  TrivialGraph g;
  const auto leaf = g.graph.add_label("trivial");
  const auto add = g.graph.add_label("tree-sum");
  std::vector<TaskId> level;
  level.reserve(static_cast<std::size_t>(leaves));
  for (std::int64_t i = 0; i < leaves; ++i) {
    const std::int64_t coords[] = {i};
    level.push_back(g.graph.add(
        leaf, coords, {}, [i](std::span<const Value>) { return Value::make<std::int64_t>(i); }));
  }
  constexpr std::size_t kFanIn = 8;
  std::int64_t next_coord = 0;
  while (level.size() > 1) {
    std::vector<TaskId> next;
    for (std::size_t i = 0; i < level.size(); i += kFanIn) {
      const std::size_t k = std::min(kFanIn, level.size() - i);
      const std::int64_t coords[] = {next_coord++};
      next.push_back(g.graph.add(add, coords, std::span<const TaskId>(&level[i], k),
                                 [](std::span<const Value> in) {
                                   std::int64_t s = 0;
                                   for (const Value& v : in) s += v.get<std::int64_t>();
                                   return Value::make<std::int64_t>(s);
                                 }));
    }
    level = std::move(next);
  }
  g.root = level.front();
  return g;
}

/// `finish` of the workloads that count tasks: the median time per task, in microseconds.
void per_task_cost(const Context&, double median_s, json& out) {
  out["us_per_task"] = median_s / out["tasks"].get<double>() * 1e6;
}

Workload scheduler_trivial(bool synchronous) {
  return {
      .description = std::string("100,000 trivial tasks + a fan-in-8 tree sum, ") +
                     (synchronous ? "synchronous scheduler (on every rank)"
                                  : "the run's scheduler (threaded or distributed)") +
                     "; tessera_s times Scheduler::run only",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [synchronous](Context& ctx, json& out) -> std::function<double()> {
        constexpr std::int64_t kLeaves = 100'000;
        const auto t0 = Clock::now();
        auto g = std::make_shared<TrivialGraph>(trivial_graph(kLeaves));
        out["build_us_per_task"] = seconds_since(t0) / static_cast<double>(g->graph.size()) * 1e6;
        out["tasks"] = g->graph.size();
        std::shared_ptr<tessera::Scheduler> sched;
        if (synchronous) {
          sched = std::make_shared<tessera::SynchronousScheduler>();
          out["threads"] = 1;
          out["scheduler"] = "synchronous";
        } else {
          sched = std::shared_ptr<tessera::Scheduler>(&ctx.scheduler, [](auto*) {});
        }
        return [g, sched] {
          const tessera::TaskId outputs[] = {g->root};
          const auto values = sched->run(g->graph, outputs);
          const auto sum = values.at(0).get<std::int64_t>();
          if (sum != kLeaves * (kLeaves - 1) / 2) {
            throw std::runtime_error("scheduler_trivial: wrong sum " + std::to_string(sum));
          }
          return static_cast<double>(sum);
        };
      },
      .finish = per_task_cost,
  };
}

/// Dask's delayed_tree: 2^14 leaves add(inc(i), mul(i, 2)), then a pairwise tree of adds
/// (65,535 tasks). Timed as Dask times it: building the delayed graph, lowering and running.
Workload delayed_tree() {
  return {
      .description =
          "2^14 delayed add(inc(i), mul(i, 2)) + a pairwise tree of adds (65,535 "
          "tasks), graph build included",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        constexpr std::int64_t kLeaves = 1 << 14;
        out["tasks"] = 4 * kLeaves - 1;
        return [&ctx] {
          // Pure, as in dask_peer.py; the wrappers are made inside the timed function too.
          const auto inc =
              tessera::delayed([](std::int64_t a) { return a + 1; }, {.name = "inc", .pure = true});
          const auto mul = tessera::delayed([](std::int64_t a, std::int64_t b) { return a * b; },
                                            {.name = "mul", .pure = true});
          const auto add = tessera::delayed([](std::int64_t a, std::int64_t b) { return a + b; },
                                            {.name = "add", .pure = true});
          std::vector<tessera::Delayed<std::int64_t>> level;
          level.reserve(kLeaves);
          for (std::int64_t i = 0; i < kLeaves; ++i) level.push_back(add(inc(i), mul(i, 2)));
          while (level.size() > 1) {
            std::vector<tessera::Delayed<std::int64_t>> next;
            next.reserve(level.size() / 2);
            for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
              next.push_back(add(level[i], level[i + 1]));
            }
            level = std::move(next);
          }
          const std::int64_t sum = level[0].compute({.scheduler = &ctx.scheduler});
          if (sum != 3 * kLeaves * (kLeaves - 1) / 2 + kLeaves) {
            throw std::runtime_error("delayed_tree: wrong sum " + std::to_string(sum));
          }
          return static_cast<double>(sum);
        };
      },
      .finish = per_task_cost,
  };
}

// --- futures and many small values --------------------------------------------------------

/// Dask's futures benchmark: `n` submits of a task that sleeps `ms` milliseconds, then gather.
/// The limit is perfect spreading over every worker of every rank: n * ms / workers.
Workload futures_sleep() {
  return {
      .description =
          "100 Client::submit of a 10 ms sleep, then gather (client made per run); "
          "limit = 100 x 10 ms spread over every worker of every rank",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        constexpr int kTasks = 100;
        out["tasks"] = kTasks;
        out["ideal_s"] = kTasks * 0.010 / (ctx.scheduler.num_threads() * ctx.ranks);
        return [&ctx] {
          tessera::Client client(ctx.scheduler);
          std::vector<tessera::Future<std::int64_t>> fs;
          for (std::int64_t i = 0; i < kTasks; ++i) {
            fs.push_back(client.submit(
                [](std::int64_t x) {
                  std::this_thread::sleep_for(std::chrono::milliseconds(10));
                  return x;
                },
                i));
          }
          std::int64_t sum = 0;
          for (std::int64_t v : client.gather(fs)) sum += v;
          if (sum != kTasks * (kTasks - 1) / 2) {
            throw std::runtime_error("futures_sleep: wrong sum " + std::to_string(sum));
          }
          return static_cast<double>(sum);
        };
      },
      .finish = [](const Context&, double median_s,
                   json& out) { out["limit_fraction"] = out["ideal_s"].get<double>() / median_s; },
  };
}

/// The per-task cost of the futures client: 10,000 submits of a trivial function, gathered.
Workload futures_tiny() {
  return {
      .description = "10,000 Client::submit of x + 1, then gather (client made per run)",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        constexpr std::int64_t kTasks = 10'000;
        out["tasks"] = kTasks;
        return [&ctx] {
          tessera::Client client(ctx.scheduler);
          std::vector<tessera::Future<std::int64_t>> fs;
          fs.reserve(kTasks);
          for (std::int64_t i = 0; i < kTasks; ++i) {
            fs.push_back(client.submit([](std::int64_t x) { return x + 1; }, i));
          }
          std::int64_t sum = 0;
          for (std::int64_t v : client.gather(fs)) sum += v;
          if (sum != kTasks * (kTasks + 1) / 2) {
            throw std::runtime_error("futures_tiny: wrong sum " + std::to_string(sum));
          }
          return static_cast<double>(sum);
        };
      },
      .finish = per_task_cost,
  };
}

/// Many tiny values between ranks: arange(n) in one-element chunks, computed to every rank.
Workload small_chunks() {
  return {
      .description =
          "arange(1e5) in chunks of 1 element, compute to every rank (1e5 tasks, "
          "as many tiny values)",
      .default_repeat = 3,
      .warmup = 1,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        const auto n = scaled(1e5, ctx.settings.scale);
        out["tasks"] = n;
        return [n, on = ctx.on] {
          const auto values = tessera::arange(n, {.chunks = 1}).compute<std::int64_t>(on);
          std::int64_t sum = 0;
          for (std::int64_t v : values) sum += v;
          if (sum != n * (n - 1) / 2) {
            throw std::runtime_error("small_chunks: wrong sum " + std::to_string(sum));
          }
          return static_cast<double>(sum);
        };
      },
      .finish = per_task_cost,
  };
}

// --- chunk_transfer ---------------------------------------------------------------------------

/// Message sizes of chunk_transfer (bytes of float64 data); the target is at 8 MiB.
constexpr std::size_t kTransferSizes[] = {std::size_t{8} << 10,   std::size_t{64} << 10,
                                          std::size_t{512} << 10, std::size_t{1} << 20,
                                          std::size_t{8} << 20,   std::size_t{64} << 20};
constexpr std::size_t kTransferTargetBytes = std::size_t{8} << 20;
/// Untimed runs of each size first (connection set-up, the allocator's first page faults).
constexpr int kTransferWarmup = 3;

/// One chunk of `bytes` that lives on rank 0 (a literal pinned there, as a persisted chunk is)
/// and one task pinned to rank 1 that reads it and returns its element count: a run moves
/// that chunk from rank 0 to rank 1 and nothing else (the count stays on rank 1, as
/// ResultPlacement::owners leaves it).
struct TransferGraph {
  tessera::TaskGraph graph;
  tessera::TaskId reader = -1;
};

TransferGraph transfer_graph(std::size_t bytes, int rank) {
  using namespace tessera;
  const auto n = static_cast<index_t>(bytes / sizeof(double));
  TransferGraph g;
  // Only rank 0's chunk is ever read: the others hold an empty placeholder (the graph's
  // fingerprint covers its structure, not the literals' contents).
  Block chunk;
  if (rank == 0) {
    chunk = Block(DType::Float64, {n});
    double* p = chunk.data_as<double>();
    for (index_t i = 0; i < n; ++i) p[i] = static_cast<double>(i);
  }
  const std::int64_t coords[] = {static_cast<std::int64_t>(bytes)};
  const TaskId source =
      g.graph.add_value(g.graph.add_label("transfer-chunk"), coords, Value::make<Block>(chunk));
  g.graph.pin(source, 0);
  g.graph.set_size_hint(source, bytes);
  const TaskId inputs[] = {source};
  g.reader = g.graph.add(g.graph.add_label("transfer-read"), coords, inputs,
                         [n](std::span<const Value> in) {
                           const Block& b = in[0].get<Block>();
                           const double* p = b.data_as<double>();
                           const index_t mid = n / 2;
                           if (b.size() != n || p[0] != 0.0 || p[mid] != static_cast<double>(mid) ||
                               p[n - 1] != static_cast<double>(n - 1)) {
                             throw std::runtime_error("chunk_transfer: the chunk arrived damaged");
                           }
                           return Value::make<std::int64_t>(n);
                         });
  g.graph.pin(g.reader, 1);
  return g;
}

/// One plain MPI ping-pong of `buffer` between ranks 0 and 1 on MPI_COMM_WORLD (MPI_Send, then
/// MPI_Recv of the echo): half the round trip in seconds as rank 0 measures it; 0 elsewhere.
double ping_pong(std::vector<std::byte>& buffer, int rank) {
  constexpr int kTag = 7;
  const int n = static_cast<int>(buffer.size());
  if (rank == 0) {
    const auto t0 = Clock::now();
    MPI_Send(buffer.data(), n, MPI_BYTE, 1, kTag, MPI_COMM_WORLD);
    MPI_Recv(buffer.data(), n, MPI_BYTE, 1, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return seconds_since(t0) / 2;
  }
  if (rank == 1) {
    MPI_Recv(buffer.data(), n, MPI_BYTE, 0, kTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Send(buffer.data(), n, MPI_BYTE, 0, kTag, MPI_COMM_WORLD);
  }
  return 0;
}

/// For every message size: Tessera moving one chunk from rank 0 to rank 1 (a whole
/// DistributedScheduler::execute, placement and completion included) and a plain MPI
/// ping-pong of the same bytes, alternating, so that both see the same machine.
void chunk_transfer(Context& ctx, json& out) {
  if (ctx.distributed == nullptr) {
    throw std::runtime_error("chunk_transfer needs the distributed scheduler");
  }
  tessera::DistributedScheduler& sched = *ctx.distributed;
  json sizes = json::array();
  for (const std::size_t bytes : kTransferSizes) {
    const auto g = transfer_graph(bytes, ctx.rank);
    std::vector<std::byte> buffer(bytes, std::byte{1});  // touched: no page faults when timed
    const tessera::TaskId outputs[] = {g.reader};
    // Enough runs for a stable median; fewer of the big ones (each moves 64 MiB).
    const int repeat =
        ctx.settings.repeat > 0
            ? ctx.settings.repeat
            : static_cast<int>(std::clamp<std::size_t>((std::size_t{512} << 20) / bytes, 10, 200));
    std::vector<double> tessera_s, pingpong_s;
    std::int64_t values_sent = 0, bytes_sent = 0, values_received = 0;
    for (int i = 0; i < kTransferWarmup + repeat; ++i) {
      barrier();
      const double pp = ping_pong(buffer, ctx.rank);
      barrier();
      const auto t0 = Clock::now();
      sched.execute(g.graph, outputs, tessera::ResultPlacement::owners);
      const double t = max_over_ranks(seconds_since(t0));
      const auto moved = sched.last_transfers();
      values_sent = sum_over_ranks(moved.values_sent);
      bytes_sent = sum_over_ranks(moved.bytes_sent);
      values_received = sum_over_ranks(moved.values_received);
      if (values_sent != 1 || values_received != 1 ||
          bytes_sent < static_cast<std::int64_t>(bytes)) {
        throw std::runtime_error("chunk_transfer: the run did not move the chunk between ranks (" +
                                 std::to_string(values_sent) + " values, " +
                                 std::to_string(bytes_sent) + " bytes sent)");
      }
      if (i < kTransferWarmup) continue;
      tessera_s.push_back(t);
      pingpong_s.push_back(pp);
    }
    const double t = median(tessera_s), pp = median(pingpong_s);
    const double b = static_cast<double>(bytes);
    json row = {
        {"bytes", bytes},
        {"repeat", repeat},
        {"tessera_s", t},
        {"tessera_best_s", *std::min_element(tessera_s.begin(), tessera_s.end())},
        {"tessera_gb_per_s", b / t / 1e9},
        {"pingpong_s", pp},
        {"pingpong_best_s", *std::min_element(pingpong_s.begin(), pingpong_s.end())},
        {"pingpong_gb_per_s", b / pp / 1e9},
        {"fraction", pp / t},
        {"values_sent", values_sent},
        {"bytes_sent", bytes_sent},
    };
    if (bytes == kTransferTargetBytes) {
      out["tessera_s"] = t;
      out["times_s"] = tessera_s;
      out["bytes"] = bytes;
      out["gb_per_s"] = b / t / 1e9;
      out["pingpong_s"] = pp;
      out["pingpong_gb_per_s"] = b / pp / 1e9;
      out["limit_fraction"] = pp / t;  // the limit: MPI's own bandwidth for this message
      out["checksum"] = static_cast<double>(bytes_sent);
    }
    sizes.push_back(std::move(row));
  }
  out["sizes"] = std::move(sizes);
  out["warmup_runs"] = kTransferWarmup;
}

// --- compute_overhead ------------------------------------------------------------------------

/// The fixed cost of a distributed compute: a graph of one trivial task pinned to rank 0
/// (its value stays there: ResultPlacement::owners), run many times. Each run is one whole
/// DistributedScheduler::execute (fingerprint agreement, placement, the task, the close),
/// timed from a barrier to the slowest rank's return.
constexpr int kOverheadRuns = 2000;

void compute_overhead(Context& ctx, json& out) {
  if (ctx.distributed == nullptr) {
    throw std::runtime_error("compute_overhead needs the distributed scheduler");
  }
  tessera::TaskGraph g;
  const std::int64_t coords[] = {0};
  const tessera::TaskId task =
      g.add(g.add_label("trivial"), coords, {},
            [](std::span<const tessera::Value>) { return tessera::Value::make<std::int64_t>(1); });
  g.pin(task, 0);
  const tessera::TaskId outputs[] = {task};
  const int runs = ctx.settings.repeat > 0 ? ctx.settings.repeat : kOverheadRuns;
  std::vector<double> times;
  std::int64_t total = 0;  // the task's values, as rank 0 holds them
  for (int i = 0; i < 100 + runs; ++i) {
    barrier();
    const auto t0 = Clock::now();
    const auto r = ctx.distributed->execute(g, outputs, tessera::ResultPlacement::owners);
    const double t = max_over_ranks(seconds_since(t0));
    if (ctx.rank == 0) total += r.values[0].get<std::int64_t>();
    if (i >= 100) times.push_back(t);
  }
  if (ctx.rank == 0 && total != 100 + runs) {
    throw std::runtime_error("compute_overhead: the task's value was wrong or missing");
  }
  out["tessera_s"] = median(times);
  out["times_s"] = times;
  out["us_per_compute"] = median(times) * 1e6;
  out["checksum"] = static_cast<double>(total);
}

std::map<std::string, Workload> workloads() {
  using namespace tessera;
  std::map<std::string, Workload> w;

  w["linspace_sum"] = {
      .description = "linspace(1, 10, 1e6) in 1000 chunks, sum (x built once, like Dask)",
      .default_repeat = 5,
      .warmup = 1,
      .prepare = [](Context& ctx, json&) -> std::function<double()> {
        Array x = linspace(1, 10, 1'000'000, 1000);
        return [x, on = ctx.on] { return x.sum().item<double>(on); };
      },
  };

  w["normal_mean_axis0"] = {
      .description =
          "default_rng(seed).normal(10, 0.1, (20000, 20000), chunks 1000)"
          ".mean(0)[::100], summed; graph build timed",
      .default_repeat = 3,
      .warmup = 0,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        const auto n = scaled(20000, std::sqrt(ctx.settings.scale));
        out["array_bytes"] = static_cast<double>(n) * static_cast<double>(n) * 8.0;
        return [n, seed = ctx.settings.seed, on = ctx.on] {
          Array x = default_rng(seed).normal(10, 0.1, {n, n}, 1000);
          const auto means =
              x.mean(0)[{Slice{std::nullopt, std::nullopt, 100}}].compute<double>(on);
          double s = 0;
          for (double m : means) s += m;
          return s;
        };
      },
  };

  w["poly_sum"] = {
      .description =
          "x = arange(2e8) / 2e8 in chunks of 1e7, sum((2*x + 1) ** 3); graph build timed",
      .default_repeat = 3,
      .warmup = 0,
      .prepare = [](Context& ctx, json&) -> std::function<double()> {
        const auto len = scaled(2e8, ctx.settings.scale);
        return [len, on = ctx.on] {
          const auto d = static_cast<double>(len);
          Array x = arange(0.0, d, 1.0, {.chunks = std::min<index_t>(len, 10'000'000)}) / d;
          return pow(2 * x + 1, 3).sum().item<double>(on);
        };
      },
  };

  w["fused_inmemory_sum"] = {
      .description =
          "sum((2*x + 1) ** 3) over a persisted float64 x of 1e8 elements (800 MB, "
          "chunks of 1e7; spread over the ranks); limit = probe read bandwidth",
      .default_repeat = 3,
      .warmup = 0,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        const auto n = scaled(1e8, ctx.settings.scale);
        // Before the array exists, so that the probe's buffers never coexist with it (the
        // peak-RSS mark is reset after prepare anyway).
        out["read_gbps"] = read_gbps(ctx);
        Array x = default_rng(ctx.settings.seed)
                      .uniform(0, 1, {n}, std::min<index_t>(n, 10'000'000))
                      .persist(ctx.on);
        out["bytes"] = static_cast<double>(n) * 8.0;
        return [x, on = ctx.on] { return pow(2 * x + 1, 3).sum().item<double>(on); };
      },
      .finish =
          [](const Context&, double median_s, json& out) {
            const double gbps = out["bytes"].get<double>() / median_s / 1e9;
            out["gb_per_s"] = gbps;
            out["limit_fraction"] = gbps / out["read_gbps"].get<double>();
          },
  };

  w["sort_1e8"] = {
      .description =
          "sort(x) of a persisted x = uniform(0, 1, 1e8) float64 in chunks of 1e7 (800 MB, made "
          "before timing): a sample sort with the input's chunks; checksum: the sum of every "
          "1e6-th element of the result (which computes all of it); peer: NumPy's np.sort",
      .default_repeat = 3,
      .warmup = 0,
      .prepare = [](Context& ctx, json& out) -> std::function<double()> {
        const auto n = scaled(1e8, ctx.settings.scale);
        const Array x = default_rng(ctx.settings.seed)
                            .uniform(0, 1, {n}, std::min<index_t>(n, 10'000'000))
                            .persist(ctx.on);
        out["elements"] = static_cast<double>(n);
        const index_t step = std::max<index_t>(1, n / 100);
        return [x, step, on = ctx.on] {
          return sort(x)[{Slice{std::nullopt, std::nullopt, step}}].sum().item<double>(on);
        };
      },
      .finish = [](const Context&, double median_s,
                   json& out) { out["elements_per_s"] = out["elements"].get<double>() / median_s; },
  };

  w["hdf5_mean"] = hdf5_mean_workload(
      "mean(axis=0) of a 16000 x 16000 float64 HDF5 dataset chunked 1000 x 1000 (2 GB, made "
      "once by to_hdf5 and kept in TESSERA_BENCH_DATA, read from the page cache); limit = a "
      "plain sequential read of the file",
      hdf5_mean_file, true);
  w["hdf5_gzip_mean"] = hdf5_mean_workload(
      "mean(axis=0) of hdf5_mean's x stored gzip-compressed (level 1, shuffled, chunks "
      "1000 x 1000; file in the page cache): chunks decompressed in parallel",
      hdf5_gzip_file, false);
  w["hdf5_anomaly_ooc"] = hdf5_write_workload(
      "x - x.mean(axis=0) written to a new HDF5 file (chunked 1000 x 1000) for hdf5_mean's x "
      "(2 GB), with each rank's memory budget (TESSERA_MEMORY_BUDGET, set by benchmarks/run) "
      "a quarter of x's share: x is read twice, never held",
      "anomaly", [](const tessera::Array& x) { return x - x.mean(0); }, {});
  w["hdf5_gzip_write"] = hdf5_write_workload(
      "hdf5_mean's x (2 GB) copied into a new HDF5 file compressed with gzip level 1 after "
      "HDF5's shuffle, chunked 1000 x 1000: chunks compressed in parallel where they are "
      "read, written by rank 0",
      "gzip", [](const tessera::Array& x) { return x; }, {.gzip = 1, .shuffle = true});

  w["rechunk_transpose"] = rechunk_transpose();
  w["multi_stats"] = multi_stats();
  w["stencil"] = stencil();
  w["stencil_steps"] = stencil_steps();
  w["matmul"] = matmul_8000();
  w["tsqr"] = tsqr();

  w["delayed_tree"] = delayed_tree();
  w["scheduler_trivial"] = scheduler_trivial(false);
  w["scheduler_trivial_sync"] = scheduler_trivial(true);
  w["futures_sleep"] = futures_sleep();
  w["futures_tiny"] = futures_tiny();
  w["small_chunks"] = small_chunks();

  w["compute_overhead"] = {
      .description =
          "the fixed cost of a distributed compute: a one-task graph (pinned to rank 0) "
          "executed 2000 times, median per compute; 2+ ranks",
      .default_repeat = 0,
      .warmup = 100,
      .prepare = {},
      .custom = compute_overhead,
      .min_ranks = 2,
  };

  w["chunk_transfer"] = {
      .description =
          "one float64 chunk of 8 KiB .. 64 MiB moved from rank 0 to rank 1 by a "
          "DistributedScheduler run, beside a plain MPI ping-pong of the same size; 2+ ranks",
      .default_repeat = 0,
      .warmup = kTransferWarmup,
      .prepare = {},
      .custom = chunk_transfer,
      .min_ranks = 2,
  };
  return w;
}

/// What the distributed scheduler moved between ranks in its last run, summed over ranks.
json transfers_of(const tessera::DistributedScheduler& sched) {
  const auto t = sched.last_transfers();
  json out = {{"values_sent", sum_over_ranks(t.values_sent)},
              {"bytes_sent", sum_over_ranks(t.bytes_sent)}};
  const auto tasks = gather_on_root(t.tasks_here);
  if (world_rank() == 0) out["tasks_per_rank"] = tasks;
  return out;
}

/// Runs one workload on every rank. Each timed run starts at a barrier and lasts as long as
/// its slowest rank.
json run_workload(const std::string& name, const Workload& w, Context& ctx) {
  json out;
  out["name"] = name;
  out["threads"] = ctx.scheduler.num_threads();
  out["ranks"] = ctx.ranks;
  out["scheduler"] = std::string(ctx.scheduler.name());
  out["instruction_set"] = std::string(tessera::instruction_set());
  out["limit_fraction"] = nullptr;
  if (ctx.ranks < w.min_ranks) {
    throw std::runtime_error(name + " needs at least " + std::to_string(w.min_ranks) +
                             " ranks (mpirun -n " + std::to_string(w.min_ranks) + ")");
  }
  bool reset = false;
  if (w.custom) {
    reset = reset_peak_rss();
    w.custom(ctx, out);
  } else {
    auto fn = w.prepare(ctx, out);
    reset = reset_peak_rss();
    for (int i = 0; i < w.warmup; ++i) fn();
    const int repeat = ctx.settings.repeat > 0 ? ctx.settings.repeat : w.default_repeat;
    std::vector<double> times;
    double checksum = 0;
    for (int i = 0; i < repeat; ++i) {
      barrier();
      const auto t0 = Clock::now();
      checksum = fn();
      times.push_back(max_over_ranks(seconds_since(t0)));
    }
    out["tessera_s"] = median(times);
    out["times_s"] = times;
    out["warmup_runs"] = w.warmup;
    out["checksum"] = checksum;
    if (w.finish) w.finish(ctx, median(times), out);
    if (ctx.distributed != nullptr) out["transfers"] = transfers_of(*ctx.distributed);
  }
  // Each rank's own peak; the figure is the largest (the ranks may share one node's memory:
  // peak_rss_mb_per_rank has them all).
  const double mine = peak_rss_mb();
  out["peak_rss_mb"] = max_over_ranks(mine);
  const auto per_rank = gather_on_root(mine);
  if (ctx.rank == 0) out["peak_rss_mb_per_rank"] = per_rank;
  // Without the reset the figure is the whole process's peak (earlier workloads included).
  out["peak_rss_per_workload"] = reset;
  return out;
}

struct Job {
  Settings settings;
  std::vector<std::string> names;
  std::string json_path;
  std::string trace_path;  // a task-stream trace of the workloads' runs (written after them)
  bool probe = false;
};

/// Runs the probe and the workloads on `scheduler` (every rank) and prints the results (rank
/// 0). Returns the exit status.
int run_job(Job& job, tessera::Scheduler& scheduler, tessera::DistributedScheduler* distributed) {
  const auto all = workloads();
  Settings& settings = job.settings;
  Context ctx{settings,    scheduler,    tessera::ComputeOptions{.scheduler = &scheduler},
              distributed, world_rank(), world_size()};
  json results = json::array();
  auto emit = [&](json r) {
    if (ctx.rank != 0) return;
    std::cout << r.dump() << std::endl;
    results.push_back(std::move(r));
  };
  if (job.probe) {
    if (ctx.ranks > 1) throw std::runtime_error("--probe runs in one process (without mpirun)");
    const bool reset = reset_peak_rss();
    json p = bandwidth_probe(scheduler.num_threads(), settings.probe_bytes, settings.probe_repeat);
    p["name"] = "bandwidth_probe";
    p["threads"] = scheduler.num_threads();
    p["ranks"] = 1;
    p["peak_rss_mb"] = peak_rss_mb();
    p["peak_rss_per_workload"] = reset;
    if (!settings.read_gbps) settings.read_gbps = p["read_gbps"].get<double>();
    emit(std::move(p));
  }
  for (const auto& name : job.names) emit(run_workload(name, all.at(name), ctx));
  if (ctx.rank == 0 && !job.json_path.empty()) {
    std::ofstream f(job.json_path);
    f << results.dump(2) << "\n";
    if (!f) {
      std::cerr << "tessera_bench: cannot write " << job.json_path << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tessera benchmark workloads (see benchmarks/README.md); one JSON object per line"};
  Job job;
  Settings& settings = job.settings;
  bool list = false;
  double probe_mb = 1024;
  app.add_option("workloads", job.names, "workloads to run (default: all, or none with --probe)");
  app.add_option("--threads", settings.threads, "worker threads per rank (0: Tessera's default)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--scheduler", settings.scheduler,
                 "distributed: a tessera::Runtime's DistributedScheduler over MPI_COMM_WORLD "
                 "(any number of ranks); threaded: a ThreadedScheduler (one process)")
      ->check(CLI::IsMember({"distributed", "threaded"}));
  app.add_option("--repeat", settings.repeat,
                 "timed runs per workload; the median is reported (0: 5, or 3 for the large ones)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", job.json_path, "also write the results to FILE as a JSON list");
  app.add_flag("--probe", job.probe, "run the STREAM-like memory bandwidth probe first");
  app.add_option("--probe-mb", probe_mb, "size of the probe's read array in MiB")
      ->check(CLI::PositiveNumber);
  app.add_option("--read-gbps", settings.read_gbps,
                 "probe read bandwidth for limit_fraction (measured when not given)");
  app.add_option("--scale", settings.scale,
                 "size factor for the large workloads (1: the Dask sizes; for smoke tests)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", settings.seed, "seed of the random arrays");
  app.add_option("--trace", job.trace_path,
                 "record a task-stream trace of every run and write it to FILE at the end "
                 "(tessera/exec/trace.hpp): the timings then include the recording's cost");
  app.add_flag("--list", list, "list the workloads and exit");
  CLI11_PARSE(app, argc, argv);
  settings.probe_bytes = static_cast<std::size_t>(probe_mb * 1024 * 1024);

  if (list) {
    for (const auto& [name, w] : workloads()) std::cout << name << "\t" << w.description << "\n";
    return 0;
  }
  // `--probe` alone runs only the probe (the driver runs it in a process of its own); without
  // names, every workload that can run on this many ranks runs (checked once MPI is up).
  const bool all_workloads = job.names.empty() && !job.probe;
  const auto all = workloads();
  for (const auto& name : job.names) {
    if (!all.contains(name)) {
      std::cerr << "tessera_bench: unknown workload '" << name << "' (--list shows them)\n";
      return 2;
    }
  }

  // MPI first (every rank), then the scheduler; both live until the results are out, and
  // through the error handling (a rank that fails alone must abort the job, not finalise MPI).
  std::optional<tessera::comm::Environment> env;
  std::optional<tessera::ThreadedScheduler> threaded;
  std::optional<tessera::Runtime> runtime;
  try {
    if (settings.scheduler == "threaded") {
      env.emplace(&argc, &argv);
      if (world_size() > 1) throw std::runtime_error("--scheduler threaded runs in one process");
      threaded.emplace(settings.threads);
    } else {
      runtime.emplace(argc, argv, tessera::RuntimeOptions{.threads = settings.threads});
    }
  } catch (const std::exception& e) {
    std::cerr << "tessera_bench: " << e.what() << "\n";
    return 1;
  }
  const int rank = world_rank(), ranks = world_size();
  if (all_workloads) {
    for (const auto& [name, w] : all)
      if (ranks >= w.min_ranks) job.names.push_back(name);
  }
  try {
    tessera::Scheduler& scheduler =
        threaded ? static_cast<tessera::Scheduler&>(*threaded) : runtime->scheduler();
    std::optional<tessera::Trace> trace;
    if (!job.trace_path.empty()) trace.emplace(job.trace_path, scheduler);
    const int status = run_job(job, scheduler, threaded ? nullptr : &runtime->scheduler());
    if (trace) trace->close();
    return status;
  } catch (const std::exception& e) {
    std::cerr << "tessera_bench" << (ranks > 1 ? " (rank " + std::to_string(rank) + ")" : "")
              << ": " << e.what() << "\n";
    // The other ranks may be waiting in a collective for this one.
    if (ranks > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}
