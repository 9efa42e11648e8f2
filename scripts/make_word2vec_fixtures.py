#!/usr/bin/python3
"""Word vectors saved by gensim, in its binary and text word2vec formats.

Run with Debian's interpreter (python3-gensim 4.2 and python3-numpy):

    /usr/bin/python3 scripts/make_word2vec_fixtures.py     # writes into tests/fixtures/word2vec/

Writes, from the same six words and (6, 5) float32 vectors:
    gensim_binary.bin   KeyedVectors.save_word2vec_format(path, binary=True)
    gensim_text.txt     KeyedVectors.save_word2vec_format(path, binary=False)
tests/test_word2vec_format.cpp reads both and checks that the binary file gives
exactly the float32 bits of the text one (gensim writes repr() of each float32,
which reads back exactly) and the values listed in the test.

The vectors are chosen to exercise the binary layout: -0.0, a subnormal, the
float32 extremes, and values whose little-endian bytes include 0x0A ('\\n'),
0x20 (' ') and 0x00, which a reader splitting on lines or spaces would cut.
The words include two-, three- and four-byte UTF-8 characters.
"""
import os
import struct
import sys

import numpy as np
from gensim.models import KeyedVectors

here = os.path.dirname(os.path.abspath(__file__))
out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "fixtures", "word2vec")
os.makedirs(out_dir, exist_ok=True)


def from_bits(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


words = ["the", "\u00e9t\u00e9", "\u4e2d\u6587", "\U0001F600", "</s>", "king"]
vectors = np.array(
    [
        [0.5, -0.25, 1.0, -0.0, 3.0],
        [from_bits(0x0000000A), from_bits(0x20202020), from_bits(0x0A0A0A0A), 1e-5, -1e-5],
        [np.finfo(np.float32).max, -np.finfo(np.float32).max, np.finfo(np.float32).tiny, 123456789.0, 0.1],
        [from_bits(0x3F80000A), from_bits(0x0A20003F), -2.5, 0.0, 7.0],
        [0.125, 0.375, -0.625, 0.875, -1.125],
        [1.0 / 3.0, -2.0 / 3.0, 1e30, -1e-30, 42.0],
    ],
    dtype=np.float32,
)

kv = KeyedVectors(vector_size=vectors.shape[1])
kv.add_vectors(words, vectors)
assert kv.index_to_key == words
kv.save_word2vec_format(os.path.join(out_dir, "gensim_binary.bin"), binary=True)
kv.save_word2vec_format(os.path.join(out_dir, "gensim_text.txt"), binary=False)

# gensim reads back what it wrote, bit for bit.
for name, binary in (("gensim_binary.bin", True), ("gensim_text.txt", False)):
    again = KeyedVectors.load_word2vec_format(os.path.join(out_dir, name), binary=binary)
    assert again.index_to_key == words, (name, again.index_to_key)
    assert (again.vectors.view(np.uint32) == vectors.view(np.uint32)).all(), name
print("wrote", out_dir)
