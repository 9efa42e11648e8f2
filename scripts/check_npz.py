#!/usr/bin/python3
"""Checks, with numpy, an .npz file that tapegrad's save_npz wrote.

  /usr/bin/python3 scripts/check_npz.py FILE

FILE must hold the reference arrays of scripts/npz_reference.py (the test in
tests/test_npz.cpp writes them). Checks that numpy.load gives the same names in
the same order, dtypes, shapes and values; that zipfile finds every CRC-32
right; and that each member is byte for byte what numpy.save writes for the
same array. Prints what differs and exits 1 on the first mismatch; exits 0 when
all is well.
"""
import io
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npz_reference import reference_arrays  # noqa: E402


def fail(message):
    print("check_npz: " + message)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: check_npz.py FILE")
    path = sys.argv[1]
    expected = reference_arrays()

    with np.load(path) as loaded:
        if list(loaded.files) != list(expected):
            fail(f"names {loaded.files} != expected {list(expected)}")
        for name, want in expected.items():
            got = loaded[name]
            if got.dtype != want.dtype or got.shape != want.shape:
                fail(f"{name!r}: {got.dtype} {got.shape} != expected {want.dtype} {want.shape}")
            if got.tobytes() != want.tobytes():
                fail(f"{name!r}: values {got!r} != expected {want!r}")

    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
        if bad is not None:
            fail(f"zipfile.testzip: bad CRC in member {bad!r}")
        for name, want in expected.items():
            buffer = io.BytesIO()
            np.save(buffer, want)
            if archive.read(name + ".npy") != buffer.getvalue():
                fail(f"member {name + '.npy'!r} differs from numpy.save's bytes")
    print(f"check_npz: {path}: numpy reads {len(expected)} arrays, all as expected")


if __name__ == "__main__":
    main()
