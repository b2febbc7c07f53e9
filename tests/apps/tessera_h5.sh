#!/usr/bin/env bash
# tessera_h5.sh MPIEXEC RANKS TOOL: tessera-h5 end to end under mpirun, against NumPy/h5py
# (Debian's /usr/bin/python3): stats (plain, --skipna, --axis, --json, --out), histogram,
# rechunk and info give NumPy's answers; each bad input prints one "tessera-h5: error:" line
# naming the problem, exits non-zero, and leaves no output file behind.
set -euo pipefail
mpiexec=$1 ranks=$2 tool=$3
python=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
run() { "$mpiexec" -n "$ranks" "$tool" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

$python - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(1)
with h5py.File("d.h5", "w") as f:
    x = rng.normal(3, 2, size=(997, 61))
    x[4, 5] = np.nan
    x[100:103, 7] = np.nan
    f.create_dataset("g/x", data=x, chunks=(50, 61), compression="gzip")
    f.create_dataset("ints", data=rng.integers(-50, 50, size=(40, 30, 7)).astype(">i4"))
    f["strings"] = np.array([b"a", b"b"])
PY

# stats --skipna --json against numpy's nan-functions; plain stats propagate NaN.
run stats d.h5:/g/x --skipna --json > s.json
$python - <<'PY' || fail "stats --skipna --json differs from numpy"
import json, h5py, numpy as np
s = json.load(open("s.json")); x = h5py.File("d.h5")["g/x"][()]
want = dict(count=int(np.sum(~np.isnan(x))), sum=np.nansum(x), mean=np.nanmean(x),
            std=np.nanstd(x), min=np.nanmin(x), max=np.nanmax(x))
for k, v in want.items():
    assert np.isclose(s[k], v, rtol=1e-12, atol=0), (k, s[k], v)
PY
run stats d.h5:/g/x --json > p.json
$python -c "import json; s = json.load(open('p.json')); assert s['mean'] is None and s['count'] == 997 * 61, s" \
  || fail "stats without --skipna should give NaN (null) and the full count"

# Along an axis, into an HDF5 output, for big-endian integers.
run stats d.h5:/ints --axis 0 --axis 2 --out st.h5:/stats > /dev/null
$python - <<'PY' || fail "stats --axis ... --out differs from numpy"
import h5py, numpy as np
x = h5py.File("d.h5")["ints"][()].astype(np.int64); f = h5py.File("st.h5")
assert np.array_equal(f["stats/sum"][()], x.sum(axis=(0, 2)))
assert np.allclose(f["stats/mean"][()], x.mean(axis=(0, 2)), rtol=1e-13)
assert np.allclose(f["stats/std"][()], x.std(axis=(0, 2)), rtol=1e-12)
assert np.array_equal(f["stats/min"][()], x.min(axis=(0, 2)))
assert np.array_equal(f["stats/count"][()], np.full(30, 40 * 7))
PY

# Histogram: numpy.histogram's counts (NaN dropped).
run histogram d.h5:/g/x --bins 13 --range -4 9 --json > h.json
$python - <<'PY' || fail "histogram differs from numpy.histogram"
import json, h5py, numpy as np
h = json.load(open("h.json")); x = h5py.File("d.h5")["g/x"][()]
counts, edges = np.histogram(x[~np.isnan(x)], bins=13, range=(-4, 9))
assert h["counts"] == counts.tolist(), (h["counts"], counts)
assert np.allclose(h["edges"], edges)
PY

# Rechunk: same values, the new chunking, no temporary left.
run rechunk d.h5:/g/x r.h5:/y --chunks 128,-1 > /dev/null
$python -c "
import h5py, numpy as np
a = h5py.File('d.h5')['g/x'][()]; f = h5py.File('r.h5')
assert f['y'].chunks == (128, 61), f['y'].chunks
assert np.array_equal(a, f['y'][()], equal_nan=True)" || fail "rechunk changed the values or the chunks"
run info r.h5 | grep -q "chunks (128, 61)" || fail "info does not show the new chunks"
# ...compressed (h5py decompresses it), and read back compressed by stats.
run rechunk d.h5:/g/x rz.h5:/y --chunks 50,20 --compress gzip=3 --shuffle > /dev/null
$python -c "
import h5py, numpy as np
a = h5py.File('d.h5')['g/x'][()]; y = h5py.File('rz.h5')['y']
assert y.chunks == (50, 20) and y.compression == 'gzip' and y.compression_opts == 3 and y.shuffle
assert np.array_equal(a, y[()], equal_nan=True)" || fail "rechunk --compress changed the values"
run info rz.h5 | grep -q "shuffle, deflate" || fail "info does not show the filters"
run stats rz.h5:/y --json > sz.json
run stats d.h5:/g/x --json > sd.json
$python -c "
import json, math
a, b = json.load(open('sz.json')), json.load(open('sd.json'))
for k in ('count', 'sum', 'mean', 'std', 'min', 'max'):
    assert a[k] == b[k] or math.isclose(a[k], b[k], rel_tol=1e-12), (k, a[k], b[k])" ||
  fail "stats of the compressed copy differ"

# Progress: a bar on stderr when asked for (ending at 100%), nothing when stderr is a file.
run --progress stats d.h5:/g/x > /dev/null 2> progress.txt
tr '\r' '\n' < progress.txt | grep -q "100%  .* tasks" || fail "no progress bar: $(cat progress.txt)"
run stats d.h5:/g/x > /dev/null 2> progress.txt
[[ ! -s progress.txt ]] || fail "a progress bar on a file: $(cat progress.txt)"
rm progress.txt

# Bad input: one error line, a non-zero status, nothing left behind.
expect_error() {  # expect_error PATTERN ARGS...
  local pattern=$1; shift
  set +e
  out=$(run "$@" 2>&1); status=$?
  set -e
  [[ $status -ne 0 ]] || fail "'$*' succeeded"
  local lines; lines=$(grep -c "^tessera-h5: error:" <<<"$out" || true)
  [[ $lines -eq 1 ]] || fail "'$*' printed $lines error lines: $out"
  grep -q -- "$pattern" <<<"$out" || fail "'$*' did not mention '$pattern': $out"
}
echo "not hdf5" > text.h5
head -c 3000 d.h5 > cut.h5
expect_error "No such file" stats missing.h5:/x
expect_error "no dataset '/nope'" stats d.h5:/nope
expect_error "is not an HDF5 file" info text.h5
expect_error "cut.h5" stats cut.h5:/g/x
expect_error "string type" stats d.h5:/strings
expect_error "axis 3 is out of range" stats d.h5:/g/x --axis 3
expect_error "is not a chunk size" rechunk d.h5:/g/x o.h5:/y --chunks 10,zz
expect_error "gives 1 sizes" rechunk d.h5:/g/x o.h5:/y --chunks 10
expect_error "the file exists" rechunk d.h5:/g/x r.h5:/y --chunks 10,10
expect_error "expected gzip=N" rechunk d.h5:/g/x o.h5:/y --chunks 10,10 --compress gzip=12
expect_error "cannot write" stats d.h5:/g/x --out nodir/o.h5:/s
expect_error "not a byte count" --memory-budget lots info d.h5
leftover=$(ls -A | grep -v -E '^(d|r|rz|st|text|cut)\.h5$|\.json$' || true)
[[ -z "$leftover" ]] || fail "files left behind: $leftover"
echo "tessera-h5: all checks passed at $ranks rank(s)"
