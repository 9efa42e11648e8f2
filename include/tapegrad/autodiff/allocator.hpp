// Storage for tensors (autodiff/allocator.cpp says how large buffers are recycled).
#pragma once

#include <cstddef>
#include <memory>

namespace tg::detail {

// A 64-byte aligned buffer of at least `bytes` bytes, uninitialized. `bytes`
// is at most max_tensor_bytes (shape.hpp; callers size buffers with
// checked_byte_size). When the memory is not there, throws a std::bad_alloc
// whose what() says how many bytes were asked for.
std::shared_ptr<void> allocate_buffer(std::size_t bytes);

}  // namespace tg::detail
