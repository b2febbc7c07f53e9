// A simulation code that owns its distributed data and hands it to Tessera for statistics.
//
//   cmake --build --preset release --target tessera_heat
//   mpirun -n 4 tessera_heat [--n 1024] [--steps 1000] [--every 100] [--alpha 1]
//                            [--threshold 0.25] [--ranks-grid 2x2]
//                            [--stepper tessera|mpi] [--persist-every 10]
//   srun -n 4 tessera_heat --n 4096 --steps 2000 --every 200
//
// The simulation: the 2-D heat equation du/dt = alpha * laplacian(u) on the unit square,
// discretised on an N x N grid of interior points (spacing h = 1 / (N + 1)) with the explicit
// 5-point scheme  u_new = u + alpha * dt / h^2 * (u_n + u_s + u_w + u_e - 4 u),  at the stable
// step dt = 0.2 * h^2 / alpha (the scheme is stable for alpha * dt / h^2 <= 1/4; so alpha sets
// the physical time, not the discrete evolution). Boundary: fixed temperature (Dirichlet),
// u = 0 just outside the grid on all four edges. Initially u = 0 except a hot rectangle
// (u = 1) off the centre: rows [N/4, N/2), columns [3N/8, 7N/8).
//
// What it shows: the ranks form a 2-D process grid (MPI_Dims_create, MPI_Cart_create, or
// --ranks-grid PxQ); each rank owns one block of the grid (uneven when N is not divisible: N =
// 1000 on 3 ranks gives 334 + 333 + 333 rows) as ONE contiguous row-major std::vector<double>
// without ghost cells. Who steps the field:
// - --stepper tessera (the default): the blocks become a Tessera array (from_local: one chunk
//   per rank, where it lives), and each step is a map_overlap of it with depth 1 and a constant
//   0 past the edges. Tessera exchanges the halos: only the border rows and columns travel
//   between ranks. The lazy steps run every --persist-every steps (persist), so neither the
//   graph nor the memory grows with the steps.
// - --stepper mpi: the app exchanges separate halo buffers with its four neighbours by plain
//   MPI_Sendrecv every step, as simulation codes do by hand.
// Both update every point with the same expression in the same order, so they give the same
// field bit for bit (a ctest compares their `result` lines). Every --every steps (and at steps
// 0 and --steps) it computes the mean, min, max and standard deviation of the temperature and
// the fraction of cells above --threshold with Tessera (with --stepper mpi, on the app's own
// blocks, handed over without copying: from_local, collective); then it asks for the anomaly
// u - mean back into its own diagnostics buffer (to_local) and checks it locally: sum(anomaly^2)
// over all ranks / N^2 must equal the variance that Tessera computed, and anomaly + mean must
// give back the block.
//
// Output (rank 0 only): readable lines, and per statistics step one `result ` line that does
// not depend on the number of ranks (every rank count computes the same field bit for bit;
// the statistics are printed with 10 significant digits), so that runs can be compared with
// `grep '^result '`. The last lines compare the time spent simulating with the time spent in
// Tessera. Worker threads per rank: TESSERA_NUM_THREADS, else Tessera's default. Exit status 1
// when a check fails.

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "tessera/tessera.hpp"

namespace {

/// The part [start, start + size) of an axis of n points that coordinate p of p_count owns:
/// the first n % p_count parts are one point longer.
struct Extent {
  long start = 0;
  long size = 0;
};

Extent part(long n, int p, int p_count) {
  const long base = n / p_count;
  const long rem = n % p_count;
  return {p * base + std::min<long>(p, rem), base + (p < rem ? 1 : 0)};
}

/// "PxQ" -> {P, Q}; {0, 0} when the text is not of that form.
std::array<int, 2> parse_grid(const std::string& text) {
  int p = 0;
  int q = 0;
  char x = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &p, &x, &q, &extra) != 3 || (x != 'x' && x != 'X') ||
      p < 1 || q < 1) {
    return {0, 0};
  }
  return {p, q};
}

/// One rank's part of the simulation: its block, the next step's block, halos, neighbours.
class HeatBlock {
 public:
  HeatBlock(MPI_Comm cart, long n, Extent rows, Extent cols, double r)
      : m_cart(cart),
        m_rows(rows),
        m_cols(cols),
        m_r(r),
        m_u(static_cast<std::size_t>(rows.size * cols.size), 0.0),
        m_next(m_u.size(), 0.0),
        m_north(static_cast<std::size_t>(cols.size), 0.0),
        m_south(m_north.size(), 0.0),
        m_west(static_cast<std::size_t>(rows.size), 0.0),
        m_east(m_west.size(), 0.0),
        m_send_west(m_west.size()),
        m_send_east(m_west.size()),
        m_row(static_cast<std::size_t>(cols.size + 2)) {
    // Neighbours; MPI_PROC_NULL on the physical boundary, where the halo keeps its 0.
    MPI_Cart_shift(cart, 0, 1, &m_north_rank, &m_south_rank);
    MPI_Cart_shift(cart, 1, 1, &m_west_rank, &m_east_rank);
    // The hot rectangle, in global indices.
    const long r0 = n / 4, r1 = n / 2, c0 = 3 * n / 8, c1 = 7 * n / 8;
    for (long i = 0; i < rows.size; ++i) {
      for (long j = 0; j < cols.size; ++j) {
        const long gi = rows.start + i, gj = cols.start + j;
        if (gi >= r0 && gi < r1 && gj >= c0 && gj < c1) at(m_u, i, j) = 1.0;
      }
    }
  }

  /// One explicit step: exchange halos, then update every point.
  void step() {
    exchange_halos();
    const long nr = m_rows.size, nc = m_cols.size;
    for (long i = 0; i < nr; ++i) {
      const double* up = i == 0 ? m_north.data() : &at(m_u, i - 1, 0);
      const double* down = i == nr - 1 ? m_south.data() : &at(m_u, i + 1, 0);
      // The row with its west and east halo values, so that every point (block edge or not)
      // is updated by the same loop, in the same floating-point order: the field is then bit
      // for bit the same for every decomposition.
      m_row.front() = m_west[static_cast<std::size_t>(i)];
      std::copy_n(&at(m_u, i, 0), nc, m_row.begin() + 1);
      m_row.back() = m_east[static_cast<std::size_t>(i)];
      const double* mid = m_row.data();
      double* out = &at(m_next, i, 0);
      for (long j = 0; j < nc; ++j) {
        const double c = mid[j + 1];
        out[j] = c + m_r * ((up[j] + down[j]) + (mid[j] + mid[j + 2]) - 4.0 * c);
      }
    }
    m_u.swap(m_next);
  }

  const std::vector<double>& field() const noexcept { return m_u; }

 private:
  double& at(std::vector<double>& v, long i, long j) {
    return v[static_cast<std::size_t>(i * m_cols.size + j)];
  }

  void exchange_halos() {
    const long nr = m_rows.size, nc = m_cols.size;
    const int ncols = static_cast<int>(nc), nrows = static_cast<int>(nr);
    // Rows are contiguous: the first row goes north while the south halo arrives, and back.
    MPI_Sendrecv(&at(m_u, 0, 0), ncols, MPI_DOUBLE, m_north_rank, 0, m_south.data(), ncols,
                 MPI_DOUBLE, m_south_rank, 0, m_cart, MPI_STATUS_IGNORE);
    MPI_Sendrecv(&at(m_u, nr - 1, 0), ncols, MPI_DOUBLE, m_south_rank, 1, m_north.data(), ncols,
                 MPI_DOUBLE, m_north_rank, 1, m_cart, MPI_STATUS_IGNORE);
    // Columns are packed first.
    for (long i = 0; i < nr; ++i) {
      m_send_west[static_cast<std::size_t>(i)] = at(m_u, i, 0);
      m_send_east[static_cast<std::size_t>(i)] = at(m_u, i, nc - 1);
    }
    MPI_Sendrecv(m_send_west.data(), nrows, MPI_DOUBLE, m_west_rank, 2, m_east.data(), nrows,
                 MPI_DOUBLE, m_east_rank, 2, m_cart, MPI_STATUS_IGNORE);
    MPI_Sendrecv(m_send_east.data(), nrows, MPI_DOUBLE, m_east_rank, 3, m_west.data(), nrows,
                 MPI_DOUBLE, m_west_rank, 3, m_cart, MPI_STATUS_IGNORE);
  }

  MPI_Comm m_cart;
  Extent m_rows, m_cols;
  double m_r;
  std::vector<double> m_u, m_next;       // this rank's block, row-major, no ghost cells
  std::vector<double> m_north, m_south;  // halo rows (0 on the physical boundary)
  std::vector<double> m_west, m_east;    // halo columns
  std::vector<double> m_send_west, m_send_east;
  std::vector<double> m_row;  // one row with its west and east halo values
  int m_north_rank = MPI_PROC_NULL, m_south_rank = MPI_PROC_NULL;
  int m_west_rank = MPI_PROC_NULL, m_east_rank = MPI_PROC_NULL;
};

/// One explicit step of a block grown by one point on every side (map_overlap's typed kernel, on
/// xtensor adaptors; `out` may be a band of the output chunk): the same expression, in the same
/// order, as HeatBlock::step, so the field is the same bit for bit.
struct HeatStep {
  double r;
  template <class Out, class In>
  void operator()(const tessera::BlockInfo&, Out& out, const In& grown) const {
    const long width = static_cast<long>(grown.shape()[1]);
    const long nr = static_cast<long>(out.shape()[0]), nc = static_cast<long>(out.shape()[1]);
    const double* u = grown.data();
    double* next = out.data();
    for (long i = 0; i < nr; ++i) {
      const double* up = u + i * width + 1;
      const double* mid = u + (i + 1) * width;  // the row with its west and east halo values
      const double* down = u + (i + 2) * width + 1;
      double* row = next + i * nc;
      for (long j = 0; j < nc; ++j) {
        const double c = mid[j + 1];
        row[j] = c + r * ((up[j] + down[j]) + (mid[j] + mid[j + 2]) - 4.0 * c);
      }
    }
  }
};

/// The same simulation with Tessera doing the halo exchange: the field is a Tessera array whose
/// chunks are the ranks' blocks, and each step is a map_overlap of it with a constant 0 beyond
/// the edges (Dirichlet). Steps are lazy; every `persist_every` steps (and whenever the field
/// is asked for) they run and only the newest field is kept, so neither the graph nor the
/// memory grows with the steps.
class TesseraHeat {
 public:
  TesseraHeat(const std::vector<double>& initial, Extent rows, Extent cols, double r,
              int persist_every)
      : m_u(tessera::from_local(std::span<const double>(initial), {rows.start, cols.start},
                                {rows.size, cols.size})),
        m_step{r},
        m_persist_every(persist_every) {}

  void step() {
    m_u = tessera::map_overlap<double>(m_step, m_u, {1}, {tessera::Boundary::constant(0)},
                                       {.stencil = true, .name = "heat_step"});
    if (++m_pending == m_persist_every) persist();
  }

  /// Collective: the field after every step so far.
  const tessera::Array& field() {
    persist();
    return m_u;
  }

 private:
  void persist() {
    if (m_pending == 0) return;
    m_u = m_u.persist();
    m_pending = 0;
  }

  tessera::Array m_u;
  HeatStep m_step;
  int m_persist_every;
  int m_pending = 0;
};

struct Stats {
  double mean = 0, min = 0, max = 0, stdev = 0, hot = 0;
};

}  // namespace

int main(int argc, char** argv) {
  tessera::Runtime rt(argc, argv);  // collective: initialises MPI, the default scheduler
  const int rank = rt.rank();
  const int size = rt.num_ranks();

  CLI::App app{"2-D heat equation on a block-decomposed grid, with statistics from Tessera"};
  long n = 1024;
  int steps = 1000;
  int every = 100;
  double alpha = 1.0;
  double threshold = 0.25;
  std::string ranks_grid;
  std::string stepper = "tessera";
  int persist_every = 10;
  constexpr int int_max = std::numeric_limits<int>::max();
  app.add_option("--n", n, "grid points per side (N x N)")->check(CLI::Range(1L, long{int_max}));
  app.add_option("--steps", steps, "time steps")->check(CLI::Range(0, int_max));
  app.add_option("--every", every, "statistics every this many steps")
      ->check(CLI::Range(1, int_max));
  app.add_option("--alpha", alpha, "thermal diffusivity (> 0)");
  app.add_option("--threshold", threshold, "'hot' means a temperature above this");
  app.add_option("--ranks-grid", ranks_grid, "process grid PxQ (default: MPI_Dims_create)");
  app.add_option("--stepper", stepper,
                 "who exchanges the halos: tessera (map_overlap) or mpi (the app, by hand)")
      ->check(CLI::IsMember({"tessera", "mpi"}));
  app.add_option("--persist-every", persist_every,
                 "with --stepper tessera: run the lazy steps every this many steps")
      ->check(CLI::Range(1, int_max));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same arguments; only rank 0 prints help or the error.
    return rank == 0 ? app.exit(e) : e.get_exit_code();
  }
  if (!(alpha > 0)) {
    if (rank == 0) fmt::print(stderr, "tessera_heat: --alpha must be positive, got {}\n", alpha);
    return 2;
  }

  // The process grid.
  std::array<int, 2> dims = {0, 0};
  if (!ranks_grid.empty()) {
    dims = parse_grid(ranks_grid);
    if (dims[0] * dims[1] != size) {
      if (rank == 0) {
        fmt::print(stderr, "tessera_heat: --ranks-grid '{}' is not PxQ with P*Q = {} ranks\n",
                   ranks_grid, size);
      }
      return 2;
    }
  }
  MPI_Dims_create(size, 2, dims.data());
  if (n < std::max(dims[0], dims[1])) {
    if (rank == 0) {
      fmt::print(stderr, "tessera_heat: N = {} is too small for a {} x {} process grid\n", n,
                 dims[0], dims[1]);
    }
    return 2;
  }
  const std::array<int, 2> periodic = {0, 0};
  MPI_Comm cart = MPI_COMM_NULL;
  MPI_Cart_create(rt.world().native(), 2, dims.data(), periodic.data(), 0, &cart);
  std::array<int, 2> coords = {0, 0};
  MPI_Cart_coords(cart, rank, 2, coords.data());
  const Extent rows = part(n, coords[0], dims[0]);
  const Extent cols = part(n, coords[1], dims[1]);

  const double h = 1.0 / static_cast<double>(n + 1);
  const double r = 0.2;  // alpha * dt / h^2, below the stability limit 1/4
  const double dt = r * h * h / alpha;
  HeatBlock block(cart, n, rows, cols, r);
  const bool by_tessera = stepper == "tessera";
  std::optional<TesseraHeat> tessera_heat;
  if (by_tessera) tessera_heat.emplace(block.field(), rows, cols, r, persist_every);
  std::vector<double> diag(block.field().size());  // the simulation's diagnostics buffer
  std::vector<double> tessera_field;               // --stepper tessera: this rank's block

  if (rank == 0) {
    fmt::print(
        "tessera heat: {0} x {0} grid on {1} rank(s), process grid {2} x {3}, {4} "
        "Tessera thread(s) per rank\n",
        n, size, dims[0], dims[1], rt.threads());
    fmt::print("  block rows {}..{}, columns {}..{} per rank (uneven when N is not divisible)\n",
               part(n, dims[0] - 1, dims[0]).size, part(n, 0, dims[0]).size,
               part(n, dims[1] - 1, dims[1]).size, part(n, 0, dims[1]).size);
    fmt::print(
        "  Dirichlet edges u = 0, hot rectangle u = 1; alpha {:g}, h {:.6g}, dt {:.6g} "
        "(alpha dt / h^2 = {:g}); {} steps, statistics every {}\n",
        alpha, h, dt, r, steps, every);
    fmt::print("  halo exchange: {}\n\n",
               by_tessera
                   ? fmt::format("Tessera's map_overlap, the steps run every {}", persist_every)
                   : std::string("by hand, with MPI_Sendrecv"));
  }

  const double n2 = static_cast<double>(n) * static_cast<double>(n);
  double sim_seconds = 0;
  double stats_seconds = 0;
  int stats_calls = 0;
  bool ok = true;

  // Collective: Tessera's statistics of the current field, and the local checks.
  auto statistics = [&](int step) {
    const double t0 = MPI_Wtime();
    tessera::Array u;
    if (by_tessera) {
      u = tessera_heat->field();
      tessera_field.resize(diag.size());
      tessera::to_local(u, std::span<double>(tessera_field), {rows.start, cols.start},
                        {rows.size, cols.size});
    } else {
      u = tessera::from_local(std::span<const double>(block.field()), {rows.start, cols.start},
                              {rows.size, cols.size});
    }
    const std::vector<double>& local = by_tessera ? tessera_field : block.field();
    Stats s;
    s.mean = u.mean().item<double>();
    s.min = u.min().item<double>();
    s.max = u.max().item<double>();
    s.stdev = u.std().item<double>();
    s.hot = (u > threshold).astype(tessera::DType::Float64).mean().item<double>();
    tessera::to_local(u - s.mean, std::span<double>(diag), {rows.start, cols.start},
                      {rows.size, cols.size});
    stats_seconds += MPI_Wtime() - t0;
    ++stats_calls;

    // Local checks of what came back (not timed as Tessera's).
    std::array<double, 2> mine = {0.0, 0.0};  // sum of squares, max |diag + mean - u|
    for (std::size_t k = 0; k < diag.size(); ++k) {
      mine[0] += diag[k] * diag[k];
      mine[1] = std::max(mine[1], std::abs(diag[k] + s.mean - local[k]));
    }
    std::array<double, 2> all = {0.0, 0.0};
    MPI_Allreduce(&mine[0], &all[0], 1, MPI_DOUBLE, MPI_SUM, cart);
    MPI_Allreduce(&mine[1], &all[1], 1, MPI_DOUBLE, MPI_MAX, cart);
    const double var = s.stdev * s.stdev;
    const double var_local = all[0] / n2;
    const double rel = var > 0 ? std::abs(var_local - var) / var : std::abs(var_local);
    const bool var_ok = rel <= 1e-9;
    const bool back_ok = all[1] <= 1e-12;
    ok = ok && var_ok && back_ok;

    if (rank == 0) {
      fmt::print(
          "step {:6d}  t {:.4e}  mean {:.6g}  min {:.6g}  max {:.6g}  std {:.6g}  "
          "hot {:.4f}\n",
          step, step * dt, s.mean, s.min, s.max, s.stdev, s.hot);
      fmt::print(
          "             check: sum(anomaly^2) / N^2 = {:.12g}, std^2 = {:.12g}, "
          "relative difference {:.2e} {}; max |anomaly + mean - u| = {:.2e} {}\n",
          var_local, var, rel, var_ok ? "ok" : "FAILED", all[1], back_ok ? "ok" : "FAILED");
      std::printf("result step %d mean %.10g min %.10g max %.10g std %.10g hot %.10g\n", step,
                  s.mean, s.min, s.max, s.stdev, s.hot);
      std::fflush(stdout);
    }
  };

  try {
    statistics(0);
    for (int step = 1; step <= steps; ++step) {
      const double t0 = MPI_Wtime();
      if (by_tessera) {
        tessera_heat->step();
      } else {
        block.step();
      }
      sim_seconds += MPI_Wtime() - t0;
      if (step % every == 0 || step == steps) statistics(step);
    }
  } catch (const tessera::error& e) {
    if (rank == 0) fmt::print(stderr, "tessera_heat: {}\n", e.what());
    MPI_Comm_free(&cart);
    return 1;
  }

  // The slowest rank's times: what the job waits for.
  std::array<double, 2> times = {sim_seconds, stats_seconds};
  std::array<double, 2> slowest = {0.0, 0.0};
  MPI_Reduce(times.data(), slowest.data(), 2, MPI_DOUBLE, MPI_MAX, 0, cart);
  MPI_Comm_free(&cart);
  if (rank == 0) {
    const double total = slowest[0] + slowest[1];
    fmt::print(
        "\ntiming (slowest rank): simulation {:.3f} s ({} steps, {:.3f} ms/step), "
        "Tessera statistics {:.3f} s ({} calls, {:.1f} ms/call), {:.1f}% of {:.3f} s "
        "in Tessera\n",
        slowest[0], steps, steps > 0 ? 1e3 * slowest[0] / steps : 0.0, slowest[1], stats_calls,
        1e3 * slowest[1] / std::max(stats_calls, 1), total > 0 ? 100 * slowest[1] / total : 0.0,
        total);
    fmt::print("checks: {}\n", ok ? "all ok" : "FAILED");
  }
  return ok ? 0 : 1;
}
