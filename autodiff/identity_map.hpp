// Tables keyed by an object's identity (a TensorImpl*), for the tape's
// storage: the tensors a tape watches (tape_storage.hpp) and the accumulators
// of its backward walk (tape.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tg::detail {

// Open addressing over a power-of-two table: the pointer's bits mixed, the
// high ones kept (the low ones are all zero: allocations are aligned).
inline std::size_t identity_hash(const void* key, std::size_t capacity) {
  auto v = reinterpret_cast<std::uintptr_t>(key);
  v ^= v >> 17;
  v *= 0x9e3779b97f4a7c15ULL;
  return static_cast<std::size_t>(v >> 20) & (capacity - 1);
}

// Values found by an object's identity (a TensorImpl*): an open-addressing hash
// table (no allocation per entry) from the pointer to an index into a vector of
// values, which are default-constructed when first asked for. The tape keeps
// one accumulator per tensor of a gradient() call in it.
template <class Value>
class IdentityMap {
 public:
  explicit IdentityMap(std::size_t expected) {
    std::size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    keys_.assign(capacity, nullptr);
    slots_.resize(capacity);
    values_.reserve(expected);
  }
  // The value of `key`, or null.
  Value* find(const void* key) { return const_cast<Value*>(std::as_const(*this).find(key)); }
  const Value* find(const void* key) const {
    for (std::size_t i = hash(key);; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == key) return &values_[slots_[i]];
      if (!keys_[i]) return nullptr;
    }
  }
  // The value of `key`, created empty if needed. References from an
  // earlier call may be invalidated.
  Value& get(const void* key) {
    std::size_t i = hash(key);
    for (;; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == key) return values_[slots_[i]];
      if (!keys_[i]) break;
    }
    if (2 * (values_.size() + 1) > keys_.size()) {
      grow();
      return get(key);
    }
    keys_[i] = key;
    slots_[i] = static_cast<std::uint32_t>(values_.size());
    return values_.emplace_back();
  }

 private:
  std::size_t hash(const void* key) const { return identity_hash(key, keys_.size()); }
  void grow() {
    std::vector<const void*> old_keys = std::move(keys_);
    std::vector<std::uint32_t> old_slots = std::move(slots_);
    keys_.assign(old_keys.size() * 2, nullptr);
    slots_.assign(old_keys.size() * 2, 0);
    for (std::size_t j = 0; j < old_keys.size(); ++j) {
      if (!old_keys[j]) continue;
      std::size_t i = hash(old_keys[j]);
      while (keys_[i]) i = (i + 1) & (keys_.size() - 1);
      keys_[i] = old_keys[j];
      slots_[i] = old_slots[j];
    }
  }

  std::vector<const void*> keys_;
  std::vector<std::uint32_t> slots_;
  std::vector<Value> values_;
};

// A set of identities (no allocation per entry), cleared all at once. It does
// not keep its objects alive: whoever inserts one must keep it alive while it
// is in the set, or a new object at the same address would be found in it.
class IdentitySet {
 public:
  bool contains(const void* key) const {
    if (keys_.empty()) return false;
    for (std::size_t i = identity_hash(key, keys_.size());; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == key) return true;
      if (!keys_[i]) return false;
    }
  }
  void insert(const void* key) {
    if (2 * (count_ + 1) > keys_.size()) grow();
    std::size_t i = identity_hash(key, keys_.size());
    for (; keys_[i]; i = (i + 1) & (keys_.size() - 1))
      if (keys_[i] == key) return;
    keys_[i] = key;
    ++count_;
  }
  void clear() {
    keys_.clear();
    count_ = 0;
  }

 private:
  void grow() {
    std::vector<const void*> old = std::move(keys_);
    keys_.assign(old.empty() ? 64 : 2 * old.size(), nullptr);
    for (const void* key : old) {
      if (!key) continue;
      std::size_t i = identity_hash(key, keys_.size());
      while (keys_[i]) i = (i + 1) & (keys_.size() - 1);
      keys_[i] = key;
    }
  }

  std::vector<const void*> keys_;
  std::size_t count_ = 0;
};

}  // namespace tg::detail
