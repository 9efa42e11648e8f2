// Storage for tensors (autodiff/allocator.cpp says how large buffers are recycled).
#pragma once

#include <cstddef>
#include <memory>

namespace tg::detail {

// A 64-byte aligned buffer of at least `bytes` bytes, uninitialized.
std::shared_ptr<void> allocate_buffer(std::size_t bytes);

}  // namespace tg::detail
