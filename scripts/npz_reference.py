"""The reference arrays shared by the .npz fixtures and the numpy round-trip check.

tests/test_npz.cpp builds the same arrays (reference_arrays() there); keep the two
in step. Used by scripts/make_npz_fixtures.py and scripts/check_npz.py.
"""
import numpy as np


def reference_arrays():
    """Name -> array, in file order: every dtype tapegrad writes, 0-d and empty
    arrays, names with '/' and a non-ASCII name."""
    return {
        "dense/kernel": (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3),  # -1, -0.5, 0, 0.5, 1, 1.5
        "dense/bias": np.array([0.1, -2.5, 1e300], dtype="<f8"),
        "step": np.array(42, dtype="<i8"),  # 0-d
        "indices": np.array([-3, 0, 7, 2**40], dtype="<i8"),
        "empty": np.zeros((0, 3), dtype="<f4"),
        "scalar": np.array(3.25, dtype="<f8"),  # 0-d
        "emb/\u00e9": np.array([7.0], dtype="<f4"),  # 'emb/é': a UTF-8 member name
    }
