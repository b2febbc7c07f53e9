"""Tessera's Dask peer: the benchmark workloads written with dask.array and dask.delayed, timed
on this machine, so that benchmarks/run reports ratios measured side by side in one run.

    /usr/bin/python3 benchmarks/dask_peer.py [workload ...]     (all when none is named)

Needs Debian's python3-dask and python3-numpy (scripts/install-deps --bench). Prints a version
line, then one line per workload: its name, the best wall time in seconds over a few runs,
and the result (a checksum that benchmarks/run compares with Tessera's). The workloads are
built exactly as tessera_bench builds them (benchmarks/tessera_bench.cpp).
"""
import os
import sys
import time

import dask
import dask.array as da
import numpy as np


def best_of(fn, runs):
    """The fastest of `runs` calls of fn, and its result."""
    best_seconds, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best_seconds = min(best_seconds, time.perf_counter() - start)
    return best_seconds, result


def linspace_sum():
    """1e6 elements in 1000 chunks, summed: the cost of scheduling 1000 tiny tasks."""
    x = da.linspace(1, 10, 1_000_000, chunks=(1000,))
    return best_of(lambda: float(x.sum().compute()), 3)


def normal_mean_axis0():
    """normal(10, 0.1) of 20000 x 20000 in 1000 x 1000 chunks, mean over axis 0, every 100th."""
    def run():
        x = da.random.normal(10, 0.1, size=(20000, 20000), chunks=(1000, 1000))
        return float(x.mean(axis=0)[::100].compute().sum())
    return best_of(run, 1)


def poly_sum():
    """(2x + 1)^3 over x = arange(2e8) / 2e8 in chunks of 1e7, summed: fusion of a chain."""
    def run():
        x = da.arange(200_000_000, chunks=10_000_000, dtype=np.float64) / 2e8
        return float(((2 * x + 1) ** 3).sum().compute())
    return best_of(run, 3)


def delayed_tree():
    """2^14 delayed add(inc(i), mul(i, 2)), then a pairwise tree of adds: cost per task."""
    from dask import delayed

    def run():
        inc = delayed(lambda a: a + 1, pure=True)
        mul = delayed(lambda a, b: a * b, pure=True)
        add = delayed(lambda a, b: a + b, pure=True)
        level = [add(inc(i), mul(i, 2)) for i in range(2 ** 14)]
        while len(level) > 1:
            level = [add(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        return level[0].compute()
    return best_of(run, 3)


def hdf5_mean():
    """mean(axis=0) of the 16000 x 16000 float64 dataset tessera_bench made (chunked 1000 x 1000);
    the file is named by TESSERA_HDF5_MEAN_FILE (benchmarks/run sets it)."""
    return _hdf5_mean_of(os.environ["TESSERA_HDF5_MEAN_FILE"])


def _hdf5_mean_of(path):
    """mean(axis=0) of dataset x of the HDF5 file `path`, read through h5py by da.from_array
    with the file's chunks (the page cache warmed by a first run, as Tessera's warm-up run)."""
    import h5py

    def run():
        with h5py.File(path, "r") as f:
            x = da.from_array(f["x"], chunks=(1000, 1000))
            return float(x.mean(axis=0).sum().compute())
    run()
    return best_of(run, 3)


def _hdf5_store(path, transform, **dataset_options):
    """transform(x) for dataset x of `path`, stored with da.store into a new h5py dataset
    chunked 1000 x 1000 with `dataset_options` (lock=True: h5py is not thread-safe, so whatever
    h5py does per chunk, compression included, runs one chunk at a time). Result: the sum of
    the output's first row, as Tessera's."""
    import h5py

    out = path + ".dask-store.h5"

    def run():
        with h5py.File(path, "r") as f, h5py.File(out, "w") as g:
            x = da.from_array(f["x"], chunks=(1000, 1000))
            d = g.create_dataset("x", shape=x.shape, dtype=x.dtype, chunks=(1000, 1000),
                                 **dataset_options)
            da.store(transform(x), d, lock=True)
        with h5py.File(out, "r") as g:
            return float(g["x"][0].sum())
    try:
        return best_of(run, 1)
    finally:
        if os.path.exists(out):
            os.remove(out)


def hdf5_anomaly_ooc():
    """x - x.mean(axis=0) for hdf5_mean's x (TESSERA_HDF5_ANOMALY_OOC_FILE) into a new file."""
    return _hdf5_store(os.environ["TESSERA_HDF5_ANOMALY_OOC_FILE"], lambda x: x - x.mean(axis=0))


def hdf5_gzip_write():
    """hdf5_mean's x (TESSERA_HDF5_GZIP_WRITE_FILE) copied into a new file compressed like
    Tessera's: gzip level 1 after the shuffle."""
    return _hdf5_store(os.environ["TESSERA_HDF5_GZIP_WRITE_FILE"], lambda x: x,
                       compression="gzip", compression_opts=1, shuffle=True)


def hdf5_gzip_mean():
    """mean(axis=0) of the gzip-compressed copy of hdf5_mean's x (TESSERA_HDF5_GZIP_MEAN_FILE)."""
    return _hdf5_mean_of(os.environ["TESSERA_HDF5_GZIP_MEAN_FILE"])


def rechunk_transpose():
    """random((16000, 16000)) in row panels of 500 rows, persisted; rechunked to column panels
    of 500 columns and summed (the persist is not timed, as in Tessera's)."""
    x = da.random.random((16000, 16000), chunks=(500, 16000)).persist()
    return best_of(lambda: float(x.rechunk((16000, 500)).sum().compute()), 3)


def _laplacian_step(keep, rate):
    """The block grown by map_overlap, with its interior replaced by keep * u + rate * the
    5-point Laplacian (Dask trims the halo afterwards)."""
    def f(u):
        out = u.copy()
        c = u[1:-1, 1:-1]
        out[1:-1, 1:-1] = keep * c + rate * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2]
                                            + u[1:-1, 2:] - 4 * c)
        return out
    return f


def stencil():
    """The periodic 5-point Laplacian of random((10000, 10000)) in 1000 x 1000 chunks (persisted,
    not timed) by map_overlap with depth 1, summed."""
    x = da.random.random((10000, 10000), chunks=(1000, 1000)).persist()
    lap = _laplacian_step(0.0, 1.0)
    return best_of(lambda: float(x.map_overlap(lap, depth=1, boundary="periodic").sum().compute()),
                   3)


def stencil_steps():
    """100 steps u = u + 0.2 laplacian(u) by map_overlap (periodic) of stencil's x, persisted
    every 10 steps; the sum of the last u."""
    x = da.random.random((10000, 10000), chunks=(1000, 1000)).persist()
    step = _laplacian_step(1.0, 0.2)

    def run():
        u = x
        for k in range(1, 101):
            u = u.map_overlap(step, depth=1, boundary="periodic")
            if k % 10 == 0:
                u = u.persist()
        return float(u.sum().compute())
    return best_of(run, 1)


def matmul():
    """x @ y of two random((8000, 8000)) in 2000 x 2000 chunks (persisted, not timed), summed."""
    x = da.random.random((8000, 8000), chunks=(2000, 2000)).persist()
    y = da.random.random((8000, 8000), chunks=(2000, 2000)).persist()
    return best_of(lambda: float((x @ y).sum().compute()), 2)


def tsqr():
    """np.linalg.qr of random((2000000, 100)) in one process (the issue's peer: NumPy, with
    OpenBLAS's threads); the draw is not timed. The result is the sum of the squares of r, which
    is the sum of the squares of x, as Tessera's."""
    x = np.random.default_rng(42).random((2_000_000, 100))

    def run():
        q, r = np.linalg.qr(x)
        return float((r * r).sum())
    return best_of(run, 2)


def multi_stats():
    """mean, std, min and max of random((8000, 8000)) in 1000 x 1000 chunks, in one
    dask.compute; the result is their sum, as Tessera's."""
    def run():
        x = da.random.random((8000, 8000), chunks=(1000, 1000))
        return float(sum(dask.compute(x.mean(), x.std(), x.min(), x.max())))
    return best_of(run, 3)


def sort_1e8():
    """np.sort of 1e8 uniform float64 values: NumPy's single-process sort, since Dask has no
    distributed sort (dask.array.Array.sort does not exist; da.topk is the nearest). The draw is
    not timed, as Tessera's persisted x is not; the result is the sum of every 1e6-th element
    of the sorted array, as Tessera's (compared statistically: different draws)."""
    x = np.random.default_rng(42).random(100_000_000)
    return best_of(lambda: float(np.sort(x)[::1_000_000].sum()), 1)


WORKLOADS = {f.__name__: f for f in (linspace_sum, normal_mean_axis0, poly_sum, delayed_tree,
                                     hdf5_mean, hdf5_anomaly_ooc, hdf5_gzip_write,
                                     hdf5_gzip_mean, rechunk_transpose, multi_stats, sort_1e8,
                                     stencil, stencil_steps, matmul, tsqr)}

if __name__ == "__main__":
    names = sys.argv[1:] or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        sys.exit(f"dask_peer.py: unknown workload(s) {', '.join(unknown)}; "
                 f"known: {', '.join(WORKLOADS)}")
    print("dask", dask.__version__, "numpy", np.__version__, "threads", os.cpu_count())
    for name in names:
        seconds, result = WORKLOADS[name]()
        print(f"{name:20s} {seconds:9.3f} s   result {result!r}", flush=True)
