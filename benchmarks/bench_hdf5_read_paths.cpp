// How fast each way of reading an HDF5 dataset in parallel is, on this machine: the measurement
// behind from_hdf5's choice of path (docs/architecture.md, "Files").
//
//   mpirun -n 2 build/release/benchmarks/bench_hdf5_read_paths FILE [--dataset x] [--repeat 5]
//
// Every rank reads its share of the rows (a contiguous block of row slabs, each `--slab` rows,
// default the file's chunk rows) and sums them, by each path in turn; a line per path gives the
// median over the repeats of the slowest rank's time, as GB/s of the whole dataset:
//   tessera      from_hdf5(FILE, DATASET).sum(): chunk reads with pread on worker threads,
//                fused with the sum (what the library does)
//   posix        H5Dread of each slab through HDF5's default (sec2) driver, one thread per rank
//   mpio_indep   H5Dread of each slab through the MPI-IO driver, independent transfers
//   mpio_coll    the same with collective transfers (H5FD_MPIO_COLLECTIVE; ranks with fewer
//                slabs take part with empty selections)
// Read the file once beforehand (e.g. with cat FILE > /dev/null) to measure from the page cache.
// Only this benchmark calls HDF5 and MPI directly: it compares the library with what it chose
// not to use.

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "tessera/tessera.hpp"

namespace {

double sum_of(const std::vector<double>& v, std::size_t n) {
  double s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) s[k] += v[i + static_cast<std::size_t>(k)];
  for (; i < n; ++i) s[0] += v[i];
  return s[0] + s[1] + s[2] + s[3];
}

struct Share {
  hsize_t rows = 0, cols = 0;   // the dataset's
  hsize_t first = 0, last = 0;  // this rank's rows [first, last)
  hsize_t slab = 0;
  int slabs_max = 0;  // the most slabs any rank reads
};

/// Reads this rank's rows slab by slab with H5Dread through the file access list `fapl` and
/// transfer list `dxpl`; returns their sum.
double read_share(const std::string& path, const std::string& dataset, const Share& s, hid_t fapl,
                  hid_t dxpl, bool collective) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  const hid_t d = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
  const hid_t fspace = H5Dget_space(d);
  std::vector<double> buffer(s.slab * s.cols);
  double total = 0;
  const int mine = static_cast<int>((s.last - s.first + s.slab - 1) / s.slab);
  for (int k = 0; k < (collective ? s.slabs_max : mine); ++k) {
    const hsize_t start[2] = {s.first + static_cast<hsize_t>(k) * s.slab, 0};
    const hsize_t count[2] = {k < mine ? std::min(s.slab, s.last - start[0]) : 0, s.cols};
    hid_t mspace;
    if (count[0] == 0) {
      H5Sselect_none(fspace);
      mspace = H5Screate_simple(2, count, nullptr);
      H5Sselect_none(mspace);
    } else {
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr);
      mspace = H5Screate_simple(2, count, nullptr);
    }
    if (H5Dread(d, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, buffer.data()) < 0)
      throw std::runtime_error("H5Dread failed");
    total += sum_of(buffer, count[0] * count[1]);
    H5Sclose(mspace);
  }
  H5Sclose(fspace);
  H5Dclose(d);
  H5Fclose(file);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  tessera::Runtime runtime(argc, argv);
  CLI::App app{"HDF5 read paths, compared"};
  std::string path, dataset = "x";
  int repeat = 5;
  hsize_t slab = 0;
  app.add_option("file", path, "an HDF5 file with a 2-d float64 dataset")->required();
  app.add_option("--dataset", dataset, "the dataset (default: x)");
  app.add_option("--repeat", repeat, "timed runs per path (the median is reported)");
  app.add_option("--slab", slab, "rows per H5Dread (default: the file's chunk rows, or 1000)");
  CLI11_PARSE(app, argc, argv);
  const int rank = runtime.rank(), ranks = runtime.num_ranks();

  Share s;
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
    const hid_t space = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(space, dims, nullptr);
    s.rows = dims[0];
    s.cols = dims[1];
    hsize_t chunk[2] = {1000, 0};
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) H5Pget_chunk(dcpl, 2, chunk);
    s.slab = slab ? slab : chunk[0];
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(file);
  }
  // Whole slabs per rank, in contiguous runs.
  const hsize_t slabs = (s.rows + s.slab - 1) / s.slab;
  const auto r = static_cast<hsize_t>(rank), n = static_cast<hsize_t>(ranks);
  s.first = std::min(s.rows, slabs * r / n * s.slab);
  s.last = std::min(s.rows, slabs * (r + 1) / n * s.slab);
  s.slabs_max = static_cast<int>((slabs + n - 1) / n);
  const double bytes = static_cast<double>(s.rows * s.cols * sizeof(double));

  const hid_t sec2 = H5Pcreate(H5P_FILE_ACCESS);
  const hid_t mpio = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(mpio, MPI_COMM_WORLD, MPI_INFO_NULL);
  const hid_t independent = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(independent, H5FD_MPIO_INDEPENDENT);
  const hid_t collective = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(collective, H5FD_MPIO_COLLECTIVE);

  const std::vector<std::pair<std::string, std::function<double()>>> paths = {
      {"tessera", [&] { return tessera::from_hdf5(path, dataset).sum().item<double>(); }},
      {"posix", [&] { return read_share(path, dataset, s, sec2, H5P_DEFAULT, false); }},
      {"mpio_indep", [&] { return read_share(path, dataset, s, mpio, independent, false); }},
      {"mpio_coll", [&] { return read_share(path, dataset, s, mpio, collective, true); }},
  };
  if (rank == 0) {
    fmt::print("{} ({} x {} float64, {:.2f} GB), {} rank(s), slabs of {} rows, median of {}\n",
               path, s.rows, s.cols, bytes / 1e9, ranks, s.slab, repeat);
  }
  for (const auto& [name, run] : paths) {
    std::vector<double> times;
    double checksum = 0;
    for (int i = 0; i < repeat + 1; ++i) {  // the first run warms up
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t0 = std::chrono::steady_clock::now();
      const double local = run();
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      checksum = local;
      if (name != "tessera")
        MPI_Allreduce(&local, &checksum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      if (i > 0) times.push_back(t);
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    if (rank == 0) {
      fmt::print("{:12s} {:8.3f} s  {:6.2f} GB/s   sum {:.10g}\n", name, median,
                 bytes / median / 1e9, checksum);
    }
  }
  H5Pclose(collective);
  H5Pclose(independent);
  H5Pclose(mpio);
  H5Pclose(sec2);
  return 0;
}
