// tessera-h5: statistics, histograms, listings and rechunked copies of HDF5 datasets, computed
// in parallel by every rank of an MPI job and within each rank's memory budget.
//
//   tessera-h5 info FILE[:OBJECT]
//   tessera-h5 stats FILE:DATASET [--axis A ...] [--skipna] [--json] [--out FILE:GROUP]
//   tessera-h5 histogram FILE:DATASET --bins N [--range LO HI] [--json]
//   tessera-h5 rechunk FILE:DATASET OUT:DATASET --chunks C0,C1,... [--compress gzip=N]
//                      [--shuffle] [--overwrite]
//   tessera-h5 generate OUT:DATASET --shape N0,N1,... [--chunks ...]
//                       [--distribution normal|uniform]
//
// Options for all: --threads N, --memory-budget 2GiB, --progress. A progress bar (tasks done on
// all ranks, bytes read, rate, time left) is drawn on stderr when that is a terminal. Under MPI:
//   mpirun -n 4 tessera-h5 stats data.h5:/fields/u --axis 0 --json
//
// Output comes from rank 0 only. Any error (a missing file or dataset, an unsupported type, a
// bad axis or chunk spec, an existing output) prints one line "tessera-h5: error: ..." and
// exits with status 1 on every rank; outputs appear only complete (tessera/io/hdf5.hpp).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tessera/tessera.hpp"

namespace {

using namespace tessera;
using nlohmann::json;

/// The rank the launcher gave this process (before MPI is initialised), so that argument
/// errors print once.
int launcher_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"}) {
    if (const char* s = std::getenv(v)) return std::atoi(s);
  }
  return 0;
}

/// "file.h5:/group/dataset" -> ("file.h5", "/group/dataset"); the dataset part may be required.
std::pair<std::string, std::string> split_target(const std::string& text, bool need_dataset) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    if (need_dataset) {
      throw value_error(
          fmt::format("'{}' names no dataset: write FILE:DATASET, e.g. data.h5:/x", text));
    }
    return {colon == std::string::npos ? text : text.substr(0, colon), "/"};
  }
  return {text.substr(0, colon), text.substr(colon + 1)};
}

std::string shape_text(const Shape& s) {
  if (s.empty()) return "()";
  if (s.size() == 1) return fmt::format("({},)", s[0]);
  return fmt::format("({})", fmt::join(s, ", "));
}

/// An array's (regular) chunk shape: the first chunk's size along each axis.
std::string chunk_text(const Array& x) {
  Shape chunk;
  for (int a = 0; a < x.ndim(); ++a)
    chunk.push_back(x.chunks().sizes(a).empty() ? 0 : x.chunks().sizes(a)[0]);
  return shape_text(chunk);
}

/// A Block's elements as doubles (for printing and JSON).
std::vector<double> values_of(const Block& b) {
  std::vector<double> out(static_cast<std::size_t>(b.size()));
  visit_dtype(b.dtype(), [&]<class T>() {
    const T* p = static_cast<const T*>(b.data());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

/// A statistic as JSON: a number, or {"shape", "values"} along axes; integers stay integers,
/// NaN and infinities are null.
json json_of(const Block& b) {
  const auto v = values_of(b);
  auto one = [&](double x) {
    if (!std::isfinite(x)) return json(nullptr);
    return is_integer(b.dtype()) ? json(static_cast<std::int64_t>(x)) : json(x);
  };
  if (b.shape().empty()) return one(v[0]);
  json a = json::array();
  for (double x : v) a.push_back(one(x));
  return json{{"shape", b.shape()}, {"values", a}};
}

int cmd_info(const std::string& target, std::ostream& out) {
  const auto [file, object] = split_target(target, false);
  for (const Hdf5Object& o : list_hdf5(file, object)) {
    if (!o.is_dataset) {
      out << fmt::format("{:<32} group\n", o.path);
      continue;
    }
    const std::size_t elements = static_cast<std::size_t>(shape_size(o.shape));
    const std::string dtype = o.dtype ? std::string(dtype_name(*o.dtype)) : "unsupported";
    std::string layout = o.chunks.empty() ? "contiguous" : "chunks " + shape_text(o.chunks);
    if (!o.filters.empty()) layout += fmt::format(" [{}]", fmt::join(o.filters, ", "));
    const std::size_t raw = o.dtype ? elements * dtype_size(*o.dtype) : 0;
    std::string size = bytes_text(o.storage_bytes);
    if (raw > 0 && o.storage_bytes > 0 && !o.filters.empty())
      size += fmt::format(" ({:.2f}x compressed)",
                          static_cast<double>(raw) / static_cast<double>(o.storage_bytes));
    out << fmt::format("{:<32} dataset {:<16} {:<12} -> {:<8} {:<28} {}\n", o.path,
                       shape_text(o.shape), o.type, dtype, layout, size);
  }
  return 0;
}

/// count, sum, mean, std, min, max over `axes` (all when empty), in one pass over the file
/// (two with --skipna: the NaN-free mean first, then the deviations from it).
struct Stats {
  std::vector<std::string> names{"count", "sum", "mean", "std", "min", "max"};
  std::vector<Block> values;
};

Stats compute_stats(const Array& x, const std::vector<int>& axes, bool skipna) {
  const Axes ax = axes.empty() ? Axes() : Axes(axes);
  Stats s;
  const bool nan_aware = skipna && is_float(x.dtype());
  if (!nan_aware) {
    index_t n = 1;  // elements per reduced slice (axes are non-negative here)
    for (int a = 0; a < x.ndim(); ++a) {
      if (axes.empty() || std::find(axes.begin(), axes.end(), a) != axes.end())
        n *= x.shape()[static_cast<std::size_t>(a)];
    }
    const Array sum = x.sum(ax);
    const Array count = full(sum.shape(), static_cast<std::int64_t>(n), -1);
    s.values = compute_blocks({count, sum, x.mean(ax), x.std(ax), x.min(ax), x.max(ax)});
    return s;
  }
  const Array valid = x == x;  // false exactly for NaN
  const Array zeroed = where(valid, x, 0.0);
  const Array count = valid.astype(DType::Int64).sum(ax);
  const Array sum = zeroed.sum(ax);
  const Array mean = sum / count;
  const Array mean_kept =
      zeroed.sum(ax, {.keepdims = true}) / valid.astype(DType::Int64).sum(ax, {.keepdims = true});
  const Array dev = where(valid, x - mean_kept, 0.0);
  const Array std = sqrt((dev * dev).sum(ax) / count);
  const double inf = std::numeric_limits<double>::infinity();
  const Array lo = where(valid, x, inf).min(ax), hi = where(valid, x, -inf).max(ax);
  // An all-NaN slice has no minimum or maximum: NaN, as numpy.nanmin gives (with a warning).
  const Array nan = full(count.shape(), std::numeric_limits<double>::quiet_NaN(), -1);
  s.values =
      compute_blocks({count, sum, mean, std, where(count > 0, lo, nan), where(count > 0, hi, nan)});
  return s;
}

int cmd_stats(const std::string& target, std::vector<int> axes, bool skipna, bool as_json,
              const std::string& out_target, bool overwrite, std::ostream& out) {
  const auto [file, dataset] = split_target(target, true);
  const Array x = from_hdf5(file, dataset);
  for (int& a : axes) {
    if (a < -x.ndim() || a >= x.ndim()) {
      throw index_error(fmt::format("axis {} is out of range for {} of shape {} ({} axes)", a,
                                    dataset, shape_text(x.shape()), x.ndim()));
    }
    if (a < 0) a += x.ndim();
  }
  const Stats s = compute_stats(x, axes, skipna);
  if (!out_target.empty()) {
    const auto [ofile, group] = split_target(out_target, true);
    std::vector<Hdf5Dataset> ds;
    for (std::size_t i = 0; i < s.names.size(); ++i) {
      const Block& b = s.values[i];
      ds.push_back({group + "/" + s.names[i], from_buffer(b.data(), b.dtype(), b.shape(), -1)});
    }
    to_hdf5(ofile, ds,
            {.overwrite = overwrite,
             .file_attributes = {{"source", file + ":" + dataset},
                                 {"axes", std::vector<std::int64_t>(axes.begin(), axes.end())},
                                 {"skipna", std::int64_t{skipna}}}});
  }
  if (as_json) {
    json j{{"file", file},       {"dataset", dataset},
           {"shape", x.shape()}, {"dtype", dtype_name(x.dtype())},
           {"axes", axes},       {"skipna", skipna}};
    for (std::size_t i = 0; i < s.names.size(); ++i) j[s.names[i]] = json_of(s.values[i]);
    out << j.dump(2) << "\n";
    return 0;
  }
  out << fmt::format("{}:{}  shape {}  {}{}\n", file, dataset, shape_text(x.shape()),
                     dtype_name(x.dtype()),
                     axes.empty() ? "" : fmt::format("  along axes {}", fmt::join(axes, ", ")));
  for (std::size_t i = 0; i < s.names.size(); ++i) {
    const auto v = values_of(s.values[i]);
    if (v.size() == 1) {
      out << fmt::format("  {:<6} {:.17g}\n", s.names[i], v[0]);
    } else {
      std::string head;
      for (std::size_t k = 0; k < std::min<std::size_t>(v.size(), 6); ++k)
        head += fmt::format(" {:.6g}", v[k]);
      out << fmt::format("  {:<6} shape {}:{}{}\n", s.names[i], shape_text(s.values[i].shape()),
                         head, v.size() > 6 ? " ..." : "");
    }
  }
  return 0;
}

int cmd_histogram(const std::string& target, int bins, std::vector<double> range, bool as_json,
                  std::ostream& out) {
  if (bins < 1) throw value_error(fmt::format("--bins must be at least 1, got {}", bins));
  const auto [file, dataset] = split_target(target, true);
  const Array x = from_hdf5(file, dataset);
  std::optional<std::pair<double, double>> given;
  if (range.size() == 2) {
    if (!(range[0] <= range[1]) || !std::isfinite(range[0]) || !std::isfinite(range[1])) {
      throw value_error(
          fmt::format("--range {} {} is not a finite range with LO <= HI", range[0], range[1]));
    }
    given = std::pair{range[0], range[1]};
  }
  // The library's histogram (NumPy's rules; without a range it computes the data's min and max
  // first, NaN left out): one count vector per chunk, summed by a tree.
  const Histogram h = histogram(x, bins, given);
  const std::vector<double>& edges = h.edges;
  const double lo = edges.front(), hi = edges.back();
  std::vector<std::int64_t> counts(edges.size() - 1);
  const Block b = h.counts.compute_block();
  std::copy_n(b.data_as<std::int64_t>(), counts.size(), counts.begin());
  if (as_json) {
    out << json{{"file", file},      {"dataset", dataset}, {"bins", bins},
                {"range", {lo, hi}}, {"edges", edges},     {"counts", counts}}
               .dump(2)
        << "\n";
    return 0;
  }
  std::int64_t most = 1;
  for (auto c : counts) most = std::max(most, c);
  out << fmt::format("{}:{}  {} bins over [{:.6g}, {:.6g}]\n", file, dataset, bins, lo, hi);
  for (int k = 0; k < bins; ++k) {
    const auto c = counts[static_cast<std::size_t>(k)];
    out << fmt::format("  [{:>12.6g}, {:>12.6g}{} {:>12}  {}\n", edges[static_cast<std::size_t>(k)],
                       edges[static_cast<std::size_t>(k) + 1], k + 1 == bins ? "]" : ")", c,
                       std::string(static_cast<std::size_t>(40 * c / most), '#'));
  }
  return 0;
}

/// "100,200" or "100x200": one integer per axis, each at least `least` (or -1 when `whole` says
/// what -1 means); `option` and `what` name them in errors.
std::vector<index_t> parse_sizes(const std::string& text, const std::string& option,
                                 const std::string& what, index_t least, const char* whole) {
  std::vector<index_t> out;
  std::string t = text;
  std::replace(t.begin(), t.end(), 'x', ',');
  std::stringstream in(t);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || (v < least && !(whole && v == -1)))
        throw std::invalid_argument(item);
      out.push_back(static_cast<index_t>(v));
    } catch (const std::exception&) {
      throw value_error(fmt::format("{} '{}': '{}' is not {} (an integer >= {}{})", option, text,
                                    item, what, least,
                                    whole ? fmt::format(", or -1 for {}", whole) : ""));
    }
  }
  return out;
}

/// --chunks: one chunk size per axis (-1: the whole axis).
std::vector<AxisChunks> parse_chunks(const std::string& text, int ndim) {
  std::vector<AxisChunks> out;
  for (index_t v : parse_sizes(text, "--chunks", "a chunk size", 1, "the whole axis"))
    out.emplace_back(v);
  if (static_cast<int>(out.size()) != ndim) {
    throw value_error(fmt::format("--chunks '{}' gives {} sizes for a dataset of {} axes", text,
                                  out.size(), ndim));
  }
  return out;
}

int cmd_generate(const std::string& target, const std::string& shape_text_arg,
                 const std::string& chunks, const std::string& distribution, std::uint64_t seed,
                 bool overwrite, std::ostream& out) {
  const auto [file, dataset] = split_target(target, true);
  const Shape shape = parse_sizes(shape_text_arg, "--shape", "an axis length", 0, nullptr);
  const ChunkSpec spec = chunks.empty()
                             ? ChunkSpec::automatic(std::size_t{8} << 20)
                             : ChunkSpec(parse_chunks(chunks, static_cast<int>(shape.size())));
  auto rng = default_rng(seed);
  const Array x =
      distribution == "uniform" ? rng.uniform(0, 1, shape, spec) : rng.normal(0, 1, shape, spec);
  const auto t0 = std::chrono::steady_clock::now();
  to_hdf5(file, dataset, x,
          {.chunks = spec,
           .overwrite = overwrite,
           .file_attributes = {
               {"generator", fmt::format("tessera-h5 generate, {} seed {}", distribution, seed)}}});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out << fmt::format("wrote {}:{}  shape {}  chunks {}  {} in {:.2f} s ({:.2f} GB/s)\n", file,
                     dataset, shape_text(shape), chunk_text(x), bytes_text(x.nbytes()), s,
                     static_cast<double>(x.nbytes()) / s / 1e9);
  return 0;
}

/// "gzip=N" (N in 1-9), "gzip" (level 4, h5py's default) or "none".
Hdf5Compression parse_compression(const std::string& text, bool shuffle) {
  Hdf5Compression c{.gzip = 0, .shuffle = shuffle};
  if (text == "none" || text.empty()) return c;
  if (text == "gzip") {
    c.gzip = 4;
    return c;
  }
  if (text.starts_with("gzip=")) {
    const std::string level = text.substr(5);
    if (level.size() == 1 && level[0] >= '1' && level[0] <= '9') {
      c.gzip = level[0] - '0';
      return c;
    }
  }
  throw value_error(
      fmt::format("--compress '{}': expected gzip=N with N from 1 to 9, gzip, or none", text));
}

int cmd_rechunk(const std::string& source, const std::string& target, const std::string& chunks,
                const Hdf5Compression& compression, bool overwrite, std::ostream& out) {
  const auto [file, dataset] = split_target(source, true);
  const auto [ofile, odataset] = split_target(target, true);
  const Array probe = from_hdf5(file, dataset);
  const ChunkSpec spec(parse_chunks(chunks, probe.ndim()));
  // Read in the new chunks (each a hyperslab of the source) and write them as the file's chunks:
  // one chunk per task in memory, whatever the two chunkings.
  const Array x = from_hdf5(file, dataset, {.chunks = spec});
  const auto t0 = std::chrono::steady_clock::now();
  to_hdf5(ofile, odataset, x, {.chunks = spec, .compression = compression, .overwrite = overwrite});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out << fmt::format("{}:{} -> {}:{}  shape {}  chunks {}  {} in {:.2f} s\n", file, dataset, ofile,
                     odataset, shape_text(x.shape()), chunk_text(x), bytes_text(x.nbytes()), s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tessera-h5: statistics, histograms and rechunked copies of HDF5 datasets, in "
      "parallel under mpirun or srun"};
  app.require_subcommand(1);
  int threads = 0;
  std::string budget;
  app.add_option("--threads", threads, "worker threads per rank (0: the cores given to the rank)");
  bool progress = false;
  app.add_flag("--progress", progress,
               "draw a progress bar on stderr even when it is not a terminal (default: only on "
               "a terminal; TESSERA_PROGRESS=0 never)");
  std::string trace_path, report_path;
  app.add_option("--trace", trace_path,
                 "write a task-stream trace of the run to this file (Chrome trace-event JSON, "
                 "for ui.perfetto.dev or chrome://tracing)");
  app.add_option("--report", report_path,
                 "write a performance report of the run to this HTML file (task stream, time "
                 "and bytes per rank, memory against the budget, slowest tasks)");
  app.add_option("--memory-budget", budget,
                 "bytes of data each rank may hold, e.g. 2GiB (default: "
                 "TESSERA_MEMORY_BUDGET, else half the memory shared by the node's ranks)");

  std::string info_target;
  auto* info =
      app.add_subcommand("info", "groups, datasets, shapes, dtypes, chunking, compression, sizes");
  info->add_option("target", info_target, "FILE or FILE:OBJECT")->required();

  std::string stats_target, stats_out;
  std::vector<int> axes;
  bool skipna = false, stats_json = false, overwrite = false;
  auto* stats = app.add_subcommand("stats", "count, sum, mean, std, min, max of a dataset");
  stats->add_option("target", stats_target, "FILE:DATASET")->required();
  stats->add_option("--axis", axes, "reduce along these axes only (repeatable; default: all)");
  stats->add_flag("--skipna", skipna, "ignore NaN values (as numpy.nanmean and friends)");
  stats->add_flag("--json", stats_json, "print JSON");
  stats->add_option("--out", stats_out, "also write the statistics as datasets FILE:GROUP/<name>");
  stats->add_flag("--overwrite", overwrite, "replace an existing --out file");

  std::string hist_target;
  int bins = 10;
  std::vector<double> range;
  bool hist_json = false;
  auto* histogram = app.add_subcommand("histogram", "counts of a dataset's values in equal bins");
  histogram->add_option("target", hist_target, "FILE:DATASET")->required();
  histogram->add_option("--bins", bins, "number of bins")->required();
  histogram->add_option("--range", range, "LO HI (default: the data's min and max)")->expected(2);
  histogram->add_flag("--json", hist_json, "print JSON");

  std::string re_source, re_target, re_chunks, re_compress;
  bool re_overwrite = false, re_shuffle = false;
  auto* rechunk =
      app.add_subcommand("rechunk", "copy a dataset into a new file with a new chunking");
  rechunk->add_option("source", re_source, "FILE:DATASET")->required();
  rechunk->add_option("target", re_target, "OUT:DATASET")->required();
  rechunk->add_option("--chunks", re_chunks, "chunk sizes, one per axis: 100,200 (-1: whole axis)")
      ->required();
  rechunk->add_option("--compress", re_compress,
                      "gzip=N (level 1-9, in parallel on every rank), gzip (level 4) or none");
  rechunk->add_flag("--shuffle", re_shuffle, "HDF5's byte shuffle before gzip");
  rechunk->add_flag("--overwrite", re_overwrite, "replace an existing output file");

  std::string gen_target, gen_shape, gen_chunks, gen_distribution = "normal";
  std::uint64_t gen_seed = 42;
  bool gen_overwrite = false;
  auto* generate =
      app.add_subcommand("generate", "write a random dataset (a sample to try the tool on)");
  generate->add_option("target", gen_target, "OUT:DATASET")->required();
  generate->add_option("--shape", gen_shape, "axis lengths: 16000,16000")->required();
  generate->add_option("--chunks", gen_chunks,
                       "the file's chunks, one size per axis (default: ~8 MiB)");
  generate
      ->add_option("--distribution", gen_distribution, "normal (mean 0, std 1) or uniform [0, 1)")
      ->check(CLI::IsMember({"normal", "uniform"}));
  generate->add_option("--seed", gen_seed, "random seed (the same data at every rank count)");
  generate->add_flag("--overwrite", gen_overwrite, "replace an existing output file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (launcher_rank() == 0) return app.exit(e);
    return e.get_exit_code();
  }

  std::size_t budget_bytes = 0;
  try {
    if (!budget.empty()) budget_bytes = parse_bytes(budget);
  } catch (const std::exception& e) {
    if (launcher_rank() == 0)
      std::cerr << "tessera-h5: error: --memory-budget: " << e.what() << "\n";
    return 1;
  }
  Runtime runtime(argc, argv,
                  {.threads = threads,
                   .memory_budget = budget_bytes,
                   .progress = progress ? ProgressMode::always : ProgressMode::automatic,
                   .trace = trace_path});
  std::optional<PerformanceReport> report;  // written when the command is done
  if (!report_path.empty()) report.emplace(report_path);
  std::ostringstream sink;
  std::ostream& out = runtime.rank() == 0 ? std::cout : sink;
  try {
    if (*info) return cmd_info(info_target, out);
    if (*stats) return cmd_stats(stats_target, axes, skipna, stats_json, stats_out, overwrite, out);
    if (*histogram) return cmd_histogram(hist_target, bins, range, hist_json, out);
    if (*rechunk) {
      return cmd_rechunk(re_source, re_target, re_chunks,
                         parse_compression(re_compress, re_shuffle), re_overwrite, out);
    }
    if (*generate)
      return cmd_generate(gen_target, gen_shape, gen_chunks, gen_distribution, gen_seed,
                          gen_overwrite, out);
  } catch (const std::exception& e) {
    if (runtime.rank() == 0) std::cerr << "tessera-h5: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
