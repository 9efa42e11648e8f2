// Tensor storage: 64-byte aligned buffers, with large ones recycled.
//
// A training step allocates the same large buffers again and again. Fresh
// memory from the kernel costs a page fault per 4 KiB on first touch, which
// for a 16 MB gradient is longer than the arithmetic that fills it; so buffers
// of at least 64 KiB are kept on release (up to 256 MiB in all) and handed out
// again for a request of the same size.
//
// Buffers of 2 MiB and more are aligned to 2 MiB and offered to the kernel for
// transparent huge pages (madvise; Debian's default THP mode): one TLB entry
// then covers 2 MiB instead of 4 KiB, which halves the time of a 16 MB
// transpose (the similarity matrix's backward) and cuts page faults 512-fold.
// Not when rounding up to whole huge pages would waste more than an eighth of
// the buffer: resident memory matters too (word2vec's 2.1 MB tables).
#include "tapegrad/autodiff/allocator.hpp"

#include "tapegrad/autodiff/shape.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

namespace tg::detail {

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kRecycleMin = 64 * 1024;
constexpr std::size_t kCacheLimit = 256 * 1024 * 1024;
constexpr std::size_t kHugePage = 2 * 1024 * 1024;

struct BufferCache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free;
  std::size_t cached = 0;

  ~BufferCache() {
    for (auto& [bytes, list] : free)
      for (void* p : list) std::free(p);
  }
  void* take(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = free.find(bytes);
    if (it == free.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached -= bytes;
    return p;
  }
  bool give(void* p, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    if (cached + bytes > kCacheLimit) return false;
    free[bytes].push_back(p);
    cached += bytes;
    return true;
  }
};

BufferCache& cache() {
  static BufferCache* instance = new BufferCache();  // never destroyed: tensors may outlive static destruction
  return *instance;
}

// A std::bad_alloc that says how much was asked for: "tapegrad: cannot
// allocate 4398046511104 bytes (4096 GiB) for a tensor" rather than a bare
// "std::bad_alloc".
class AllocationFailure : public std::bad_alloc {
 public:
  explicit AllocationFailure(std::size_t bytes)
      : message_("tapegrad: cannot allocate " + std::to_string(bytes) + " bytes" +
                 (bytes >> 30 ? " (" + std::to_string(bytes >> 30) + " GiB)" : std::string()) + " for a tensor") {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

}  // namespace

std::shared_ptr<void> allocate_buffer(std::size_t bytes) {
  // Callers check sizes against max_tensor_bytes (checked_byte_size); the
  // rounding below relies on it, since it would wrap to a tiny buffer near 2^64.
  if (bytes > static_cast<std::size_t>(max_tensor_bytes)) throw AllocationFailure(bytes);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (bytes == 0) bytes = kAlignment;
  if (bytes < kRecycleMin) {
    // Small buffers: one plain allocation holding the reference count and the
    // bytes, aligned by hand (malloc gives 16 bytes, so 48 spare bytes reach
    // the next multiple of 64). aligned_alloc plus a separate control block
    // cost a third of the time of an op on 8 elements (bench/tape_overhead).
    auto block = std::make_shared_for_overwrite<std::byte[]>(bytes + kAlignment - alignof(std::max_align_t));
    auto address = reinterpret_cast<std::uintptr_t>(block.get());
    auto aligned = (address + kAlignment - 1) / kAlignment * kAlignment;
    return std::shared_ptr<void>(std::move(block), reinterpret_cast<void*>(aligned));
  }
  void* p = cache().take(bytes);
  if (!p) {
    const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;  // aligned_alloc wants a multiple
    if (bytes >= kHugePage && rounded - bytes <= bytes / 8) {
      p = std::aligned_alloc(kHugePage, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      if (p) madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
    } else {
      // Below 2 MiB, or a size that huge pages would round up by more than an
      // eighth (a 2.1 MB embedding table would take 4 MiB): ordinary pages.
      p = std::aligned_alloc(kAlignment, bytes);
    }
  }
  if (!p) throw AllocationFailure(bytes);
  return std::shared_ptr<void>(p, [bytes](void* q) {
    if (!cache().give(q, bytes)) std::free(q);
  });
}

}  // namespace tg::detail
