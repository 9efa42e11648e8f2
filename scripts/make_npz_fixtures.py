#!/usr/bin/python3
"""Writes the .npz fixtures of tests/test_npz.cpp into tests/fixtures/npz/.

Run with Debian's python3 (it has numpy):  /usr/bin/python3 scripts/make_npz_fixtures.py
The files are small and committed; rerun only to change them.

  savez.npz             numpy.savez of the reference arrays (scripts/npz_reference.py)
  savez_compressed.npz  numpy.savez_compressed of the same plus 'big', a compressible (100, 10) float32
  int32.npz             'counts', <i4, which tapegrad widens to int64
  versions.npz          members written with npy format 2.0 ('v2') and 3.0 ('v3')
  data_descriptor.npz   written to a non-seekable stream, so each member's sizes and CRC
                        follow its data (zip flag bit 3); one stored, one deflated
  fortran.npz           a (2, 3) float32 in Fortran order (refused)
  bool.npz              a |b1 array 'mask' (refused)
  big_endian.npz        a >f4 array 'weights' (refused)
  header_2x3_f4.npy     numpy.save of zeros((2, 3), '<f4'): the header tapegrad must match
"""
import io
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npz_reference import reference_arrays  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "npz")
EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: rerunning gives the same bytes


def npy_bytes(array, version=None):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, EPOCH), data, compress_type=compression)


class NonSeekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile then writes data descriptors."""

    def __init__(self):
        self.chunks = []

    def writable(self):
        return True

    def write(self, data):
        self.chunks.append(bytes(data))
        return len(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    arrays = reference_arrays()
    np.savez(os.path.join(OUT, "savez.npz"), **arrays)
    big = ((np.arange(1000) % 7) * 0.25).astype("<f4").reshape(100, 10)
    np.savez_compressed(os.path.join(OUT, "savez_compressed.npz"), **arrays, big=big)

    counts = np.array([[1, -2], [2147483647, -2147483648]], dtype="<i4")
    np.savez(os.path.join(OUT, "int32.npz"), counts=counts)

    write_zip(os.path.join(OUT, "versions.npz"), [
        ("v2.npy", npy_bytes(np.array([[1.5, -2.0], [0.0, 4.0]], dtype="<f8"), version=(2, 0))),
        ("v3.npy", npy_bytes(np.array([5, 6, 7], dtype="<i8"), version=(3, 0))),
    ])

    stream = NonSeekable()
    with zipfile.ZipFile(stream, "w") as archive:
        stored = zipfile.ZipInfo("x.npy", EPOCH)
        with archive.open(stored, "w") as member:
            member.write(npy_bytes(np.array([1.0, 2.0], dtype="<f4")))
        deflated = zipfile.ZipInfo("y.npy", EPOCH)
        deflated.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(deflated, "w") as member:
            member.write(npy_bytes(np.arange(12, dtype="<i8").reshape(3, 4)))
    with open(os.path.join(OUT, "data_descriptor.npz"), "wb") as f:
        f.write(b"".join(stream.chunks))

    np.savez(os.path.join(OUT, "fortran.npz"), kernel=np.asfortranarray(np.ones((2, 3), dtype="<f4")))
    np.savez(os.path.join(OUT, "bool.npz"), mask=np.array([True, False]))
    np.savez(os.path.join(OUT, "big_endian.npz"), weights=np.array([1.0, 2.0], dtype=">f4"))

    np.save(os.path.join(OUT, "header_2x3_f4.npy"), np.zeros((2, 3), dtype="<f4"))
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
