// Reading a whole input file, for the loaders of io/ and data/
// (load_word2vec_format, read_corpus).
#pragma once

#include <string>

namespace tg::io {

// The bytes of the regular file at `path`. Anything else is refused before a
// byte is read: a device such as /dev/zero never ends, and a FIFO blocks
// until a writer comes. Every failure is a std::runtime_error starting
// "FUNCTION: PATH: ", e.g.
//   "read_corpus: /tmp/p: is a FIFO (named pipe), not a corpus (expected a regular file)"
//   "load_word2vec_format: v.txt: cannot open the file: No such file or directory (check the path)"
// and a file larger than the memory the process may have says so with its
// size rather than throwing a bare std::bad_alloc. `what` names what the file
// should be ("a vectors file", "a corpus").
std::string read_regular_file(const std::string& path, const std::string& function, const std::string& what);

}  // namespace tg::io
