// libFuzzer target: tg::io::load_npz_from_memory on arbitrary bytes.
// The loader must either return arrays whose buffers hold exactly what their
// shapes and dtypes say, or throw std::runtime_error; anything else (a crash,
// a sanitizer report, another exception type, e.g. std::bad_alloc from a forged
// size) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include <tapegrad/io/npz.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg::io::NamedArrays arrays;
  try {
    arrays = tg::io::load_npz_from_memory(data, size, "fuzz.npz");
  } catch (const std::runtime_error&) {
    return 0;
  }
  for (const auto& [name, tensor] : arrays) {
    if (name.empty() || !tensor.defined()) std::abort();
    // Read every byte, so that ASan sees a buffer shorter than the shape claims.
    const auto* bytes = static_cast<const unsigned char*>(tensor.raw_data());
    std::size_t n = static_cast<std::size_t>(tensor.numel()) * tg::dtype_size(tensor.dtype());
    volatile unsigned sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum = sum + bytes[i];
  }
  return 0;
}
