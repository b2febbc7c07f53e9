#!/usr/bin/env python3
"""The other side of Tessera's HDF5 interoperability tests (tests/io/mpi_test_hdf5.cpp).

  numpy_peer.py write DIR   writes files as h5py and NumPy users make them
  numpy_peer.py check FILE  checks a file Tessera wrote (values, dtypes, attributes)
  numpy_peer.py check_compressed FILE  ...and that its datasets are gzip-compressed and shuffled
  numpy_peer.py write_npy DIR    writes .npy files with numpy.save
  numpy_peer.py check_npy FILE SHAPE DTYPE   checks a .npy file Tessera wrote

Every value is a formula of the element's flat index, which the C++ side recomputes.
"""
import sys

import h5py
import numpy as np


def values(shape, dtype):
    i = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    if np.dtype(dtype).kind == "f":
        return (i * 0.5 - 3.0).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return (i % 3 == 0)
    return ((i * 7) % 251 - (100 if np.dtype(dtype).kind == "i" else 0)).astype(dtype)


def write(d):
    with h5py.File(f"{d}/layouts.h5", "w") as f:
        f["contiguous_f8"] = values((37, 11), "f8")
        f.create_dataset("chunked_f4", data=values((40, 30), "f4"), chunks=(7, 8))
        f.create_dataset("gzip_i8", data=values((25, 9, 4), "i8"), chunks=(5, 9, 2),
                         compression="gzip", compression_opts=4)
        f.create_dataset("big_endian_i4", data=values((50,), ">i4"))
        f.create_dataset("big_endian_f8_chunked", data=values((19, 6), ">f8"), chunks=(4, 4))
        f.create_dataset("a/b/c/nested_i4", data=values((6, 5), "i4"))
        f["flags"] = values((17,), "bool")
        f["small_u1"] = values((9, 4), "u1")
        f["small_i2"] = values((9, 4), "i2")
        f["u4"] = values((8,), "u4")
        f["scalar_f8"] = np.float64(2.5)
        f["empty_f8"] = np.zeros((0, 3))
        f.create_dataset("shuffled_f8", data=values((30, 20), "f8"), chunks=(10, 10),
                         shuffle=True, compression="gzip")
        f["u8"] = values((4,), "u8")
        f["strings"] = np.array([b"a", b"bc"])
        f["compound"] = np.zeros(3, dtype=[("x", "f8"), ("y", "i4")])
        f.attrs["title"] = "made by h5py"
        f.attrs["version"] = 3
        f.attrs["scale"] = [0.5, 2.0]


def check(path):
    with h5py.File(path, "r") as f:
        x = f["x"][()]
        assert x.dtype == np.float64, x.dtype
        assert np.array_equal(x, values(x.shape, "f8")), "x differs"
        flags = f["group/flags"][()]
        assert flags.dtype == np.bool_, flags.dtype
        assert np.array_equal(flags, values(flags.shape, "bool")), "flags differ"
        n = f["group/n"][()]
        assert n.dtype == np.int32, n.dtype
        assert np.array_equal(n, values(n.shape, "i4")), "n differs"
        assert f.attrs["title"] in ("made by tessera", b"made by tessera"), f.attrs["title"]
        assert f["x"].attrs["units"] in ("m/s", b"m/s")
        assert list(f["x"].attrs["scale"]) == [0.5, 2.0]
        assert f["x"].attrs["count"] == 7
    print("ok")


def check_compressed(path):
    with h5py.File(path, "r") as f:
        for name in ("x", "group/flags", "group/n"):
            d = f[name]
            assert d.compression == "gzip" and d.compression_opts == 4, (name, d.compression)
            assert d.shuffle and d.chunks is not None, name
    check(path)


def write_npy(d):
    np.save(f"{d}/f8.npy", values((37, 11), "f8"))
    np.save(f"{d}/f4.npy", values((5, 6, 7), "f4"))
    np.save(f"{d}/big_i4.npy", values((50,), ">i4"))
    np.save(f"{d}/big_f8.npy", values((9, 8), ">f8"))
    np.save(f"{d}/i8.npy", values((13,), "i8"))
    np.save(f"{d}/bool.npy", values((17, 2), "bool"))
    np.save(f"{d}/scalar.npy", np.float64(2.5))
    np.save(f"{d}/empty.npy", np.zeros((0, 4), "f4"))
    np.save(f"{d}/fortran.npy", np.asfortranarray(values((4, 5), "f8")))
    np.save(f"{d}/u2.npy", values((4,), "u2"))
    np.save(f"{d}/i1.npy", values((9, 5), "i1"))
    np.save(f"{d}/big_u4.npy", values((12,), ">u4"))
    np.save(f"{d}/u8.npy", values((7,), "u8"))
    np.save(f"{d}/f2.npy", values((4,), "f2"))  # float16: no Tessera dtype
    values((20, 3), "f8").tofile(f"{d}/raw.bin")


def check_npy(path, shape, dtype):
    x = np.load(path)
    shape = tuple(int(v) for v in shape.split(",") if v)
    assert x.shape == shape, (x.shape, shape)
    assert x.dtype == np.dtype(dtype), (x.dtype, dtype)
    assert np.array_equal(x, values(shape, dtype)), "values differ"
    print("ok")


if __name__ == "__main__":
    {"write": write, "check": check, "check_compressed": check_compressed, "write_npy": write_npy,
     "check_npy": check_npy}[sys.argv[1]](*sys.argv[2:])
