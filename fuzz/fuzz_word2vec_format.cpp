// libFuzzer target: tg::io::load_word2vec_format_from_memory on arbitrary text.
// Either std::runtime_error, or a result that keeps every promise of the
// header: one (count, dim) float32 matrix, finite values, unique non-empty
// words without whitespace and in valid UTF-8. A result is then written in the
// format save_word2vec_format uses and read again: the same words, the same bits.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <tapegrad/io/word2vec_format.hpp>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::string write(const tg::io::WordVectors& wv) {
  const std::int64_t dim = wv.vectors.dim(1);
  std::string text = std::to_string(wv.words.size()) + " " + std::to_string(dim) + "\n";
  const float* v = wv.vectors.data<float>();
  char buffer[64];
  for (std::size_t i = 0; i < wv.words.size(); ++i) {
    text += wv.words[i];
    for (std::int64_t j = 0; j < dim; ++j) {
      auto r = std::to_chars(buffer, buffer + sizeof buffer, v[static_cast<std::int64_t>(i) * dim + j]);
      text += ' ';
      text.append(buffer, r.ptr);
    }
    text += '\n';
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  tg::io::WordVectors wv;
  try {
    wv = tg::io::load_word2vec_format_from_memory(text);
  } catch (const std::runtime_error&) {
    return 0;
  }
  check(wv.vectors.defined() && wv.vectors.dtype() == tg::float32 && wv.vectors.rank() == 2);
  check(wv.vectors.dim(0) == static_cast<std::int64_t>(wv.words.size()) && wv.vectors.dim(1) >= 1);
  std::set<std::string> unique;
  for (const auto& w : wv.words) {
    check(!w.empty() && w.find_first_of(" \t\n\r\v\f") == std::string::npos);
    check(unique.insert(w).second);
  }
  const float* v = wv.vectors.data<float>();
  for (std::int64_t i = 0; i < wv.vectors.numel(); ++i) check(std::isfinite(v[i]));

  tg::io::WordVectors again = tg::io::load_word2vec_format_from_memory(write(wv));  // must not throw
  check(again.words == wv.words && again.vectors.shape() == wv.vectors.shape());
  const float* w = again.vectors.data<float>();
  for (std::int64_t i = 0; i < wv.vectors.numel(); ++i)
    check(std::bit_cast<std::uint32_t>(w[i]) == std::bit_cast<std::uint32_t>(v[i]));
  return 0;
}
