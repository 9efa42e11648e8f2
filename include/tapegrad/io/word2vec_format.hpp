// Word vectors in the word2vec formats, as gensim's
// KeyedVectors.save_word2vec_format(path, binary=...) writes and
// KeyedVectors.load_word2vec_format(path, binary=...) reads. The text format
// (binary=False, the default here as in gensim):
//
//   3 4                          <- header: number of words, dimension
//   the 0.1 -0.25 1e-05 3
//   of -0.5 0.75 0 1.5
//   king 2 -1 0.125 0.3333333
//
//   tg::io::save_word2vec_format("vectors.txt", words, embedding_matrix);
//   auto wv = tg::io::load_word2vec_format("vectors.txt");  // wv.words, wv.vectors (3, 4) float32
//
//   >>> KeyedVectors.load_word2vec_format("vectors.txt")   # in Python (gensim)
//
// The binary format (binary=True; word2vec.c's -binary 1) has the same header
// line, then for each word its UTF-8 bytes, a space and `dim` raw float32
// values, 4 bytes each, little-endian; gensim 4 writes nothing after a vector,
// word2vec.c a '\n', and both are read:
//
//   tg::io::save_word2vec_format("vectors.bin", words, embedding_matrix, /*binary=*/true);
//   auto wv = tg::io::load_word2vec_format("vectors.bin", /*binary=*/true);
//   >>> KeyedVectors.load_word2vec_format("vectors.bin", binary=True)
//
// Which format a file is in must be said, as in gensim: guessing from the
// bytes could take a binary file whose first values happen to be printable for
// text. When a file does not parse, the error says if it looks like the other
// format ("this looks like the binary word2vec format ...; pass binary=true").
//
// UTF-8 text, one word per line after the header, the word and its values
// separated by spaces. Values are written as the shortest decimal that reads
// back as the same float32 (std::to_chars), so a save/load round trip is bit
// exact (-0.0 and subnormals included).
//
// Writing is atomic, as save_npz: the text goes to a temporary file beside
// `path`, is flushed, then renamed over `path`. On any error the earlier file at
// `path` is left as it was.
//
// Reading is strict: every fault is an error naming the function, the file (or
// "<memory>"), the 1-based line number (the byte offset in the binary format)
// and what was expected and found.
//   - Only a regular file is read: a directory, a FIFO, a device (/dev/zero,
//     /dev/urandom) or a socket is refused before any byte is read (a FIFO
//     would block, a device never end).
//   - The header's claim is checked against the file's size before anything is
//     allocated: each value takes at least 2 bytes of text (a separator and a
//     digit) or 4 of binary, so "4000000000 300" on a small file is an error
//     saying what that claims (1.2e12 values, 4.8 TB), not a std::bad_alloc.
//   - The header is exactly two non-negative integers "count dim", dim >= 1.
//   - Each of the `count` lines holds a word and exactly `dim` numbers. Fields
//     are separated by one or more spaces or tabs (any ASCII whitespace but
//     the newline, so a '\r' of a Windows line end is ignored, as gensim's
//     rstrip() does). A leading UTF-8 byte order mark is skipped.
//   - Numbers are decimal floats ("0.5", "-1e-05", ".5", "+2"); a value beyond
//     the float32 range is an error, one too small for float32 becomes 0 (as
//     numpy's float32() of it does).
//   - NaN and infinities are refused, on reading and on saving: in a vectors
//     file they mean the training diverged, and every cosine computed from
//     them would silently be NaN. (gensim writes and reads them without a word.)
//   - A word appearing twice is an error (gensim keeps the first and warns).
//   - Fewer lines than the header's count is an error (as gensim's EOFError);
//     so is a non-blank line after the last word (gensim ignores it): a count
//     that does not match the file means the file is not what it claims.
//   - The text must be valid UTF-8.
//   - Binary: each word must be non-empty valid UTF-8 without control bytes
//     (a control byte or invalid UTF-8 where a word should be usually means
//     the header's dimension is wrong); fewer bytes than a word's `dim` values
//     need is an error; newlines before a word and whitespace after the last
//     vector are skipped, anything else after it is an error.
// What tapegrad refuses to write: an empty word, a word containing whitespace
// (space, tab, newline, ...) or invalid UTF-8 (in the binary format, any
// control character), a repeated word, a `vectors`
// tensor that is not float32, not rank 2, or whose row count differs from the
// number of words, and NaN or infinite values.
//
// Errors: std::runtime_error for files that cannot be read, written or parsed;
// std::invalid_argument for bad arguments to save_word2vec_format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/autodiff/tensor.hpp"

namespace tg::io {

struct WordVectors {
  std::vector<std::string> words;  // in file order (gensim writes the most frequent first)
  Tensor vectors;                  // (words.size(), dim) float32; row i is words[i]'s vector
};

// Writes `words` and their `vectors` ((words.size(), dim) float32) to `path`
// in the word2vec text format (binary = false) or the binary one, atomically.
// Throws naming the path on failure.
void save_word2vec_format(const std::string& path, const std::vector<std::string>& words, const Tensor& vectors,
                          bool binary = false);

// Reads a word2vec file in the text format (binary = false) or the binary one.
WordVectors load_word2vec_format(const std::string& path, bool binary = false);
// The same, from the file's bytes held in memory (errors name "<memory>").
WordVectors load_word2vec_format_from_memory(std::string_view bytes, bool binary = false);

}  // namespace tg::io
