#!/usr/bin/env python3
"""Compare the data of two HDF5 files, ignoring attributes.

Usage: h5_data_diff.py A.h5 B.h5 [--allow-new]

Prints every dataset whose dtype, shape or bytes differ, and every dataset present in one
file only (datasets new in B are allowed with --allow-new: a change may add outputs).
Exit 0 when the data agree, 1 otherwise. Used to check that a refactor leaves apical's
outputs byte-identical while it adds attributes.
"""
import sys

import h5py
import numpy as np


def datasets(f):
    found = {}
    f.visititems(lambda name, obj: found.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return found


def same_data(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype != b.dtype:
        # Enumerations and string types may change representation; compare values.
        return np.array_equal(np.asarray(a[()]).astype(str) if a.dtype.kind in "SOU" else a[()],
                              np.asarray(b[()]).astype(str) if b.dtype.kind in "SOU" else b[()])
    va, vb = a[()], b[()]
    if isinstance(va, (np.ndarray, np.generic)) and va.dtype.kind not in "OSU":
        return va.tobytes() == vb.tobytes()  # bytes: a NaN equals itself
    return np.array_equal(np.asarray(va), np.asarray(vb))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    allow_new = "--allow-new" in sys.argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with h5py.File(args[0], "r") as fa, h5py.File(args[1], "r") as fb:
        da, db = datasets(fa), datasets(fb)
        bad = 0
        for name in sorted(set(da) | set(db)):
            if name not in db:
                print(f"only in {args[0]}: {name}"); bad += 1
            elif name not in da:
                if not allow_new:
                    print(f"only in {args[1]}: {name}"); bad += 1
            elif not same_data(da[name], db[name]):
                print(f"differs: {name} ({da[name].dtype}{da[name].shape} vs {db[name].dtype}{db[name].shape})"); bad += 1
        print(f"{len(set(da) & set(db))} common datasets, {bad} problems")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
