// The tape's storage, kept apart from its algorithm (tape.cpp): where records
// live, which tensors a tape watches, and which tapes are alive on a thread.
// Private to autodiff/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "identity_map.hpp"
#include "tapegrad/autodiff/tape.hpp"

namespace tg::detail {

// The tapes alive on this thread, outermost first: an op is recorded on them
// in this order. Inline, so record_closure reads it as directly as before the
// split.
inline thread_local std::vector<GradientTape*> live_tapes;

// One recorded op. The inputs and the backward closure live in the tape's
// arena (they are destroyed with the records), so recording an op costs no
// allocation of its own.
struct TapeRecord {
  const char* op;
  const Tensor* inputs;
  std::size_t input_count;
  Tensor output;
  void* closure;
  const ClosureOps* closure_ops;
  std::uint64_t needs_mask;  // bit i: input i is watched by this tape
  // Tensor::version() of each input, then of the output, when recorded: a
  // backward reads those values, so gradient() refuses a record whose
  // tensors were written in place since.
  const std::uint64_t* versions;
};

// Bump allocation in chunks, released all at once with the records.
class Arena {
 public:
  void* allocate(std::size_t bytes, std::size_t align);
  void clear();

 private:
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  std::byte* next_ = nullptr;
  std::size_t left_ = 0;
};

// The tensors one tape watches: those given to watch() and the outputs of the
// ops it recorded (trainable tensors are watched by rule, not listed here).
// The tape itself keeps every tensor in `held` alive (watch() keeps a handle,
// a record holds its output), so no other tensor can take the address of one
// while it is there: a key of `held` is always the tensor it was inserted
// for. When the records are released, their outputs that someone else still
// holds stay watched (as they would with a watch list in each tensor) through
// a weak reference in `released`: a tensor that has died since is expired
// there, whatever new tensor has taken its address.
class WatchedTensors {
 public:
  bool contains(const TensorImpl* impl) const {
    if (held_.contains(impl)) return true;
    if (!released_) return false;
    const std::weak_ptr<TensorImpl>* ref = released_->find(impl);
    return ref && !ref->expired();
  }
  // For a tensor the tape keeps alive.
  void insert_held(const TensorImpl* impl) { held_.insert(impl); }
  // The tape lets go of its records: outputs still held elsewhere move to the
  // weak side, and `held` is left with the watched tensors.
  void release(const std::vector<TapeRecord>& records, const std::vector<Tensor>& watched);

 private:
  IdentitySet held_;
  std::optional<IdentityMap<std::weak_ptr<TensorImpl>>> released_;  // made at the first release that needs it
};

// Everything a GradientTape stores, behind one pointer so that the public
// header shows none of it.
struct TapeStorage {
  std::vector<TapeRecord> records;
  Arena arena;
  std::vector<Tensor> watched;  // watch()ed tensors, kept alive so their identity stays unique
  WatchedTensors watching;

  // Appends a record, copying the inputs and the closure (moving it if
  // `move_closure`) into the arena; the output becomes watched.
  void append(const char* name, const Tensor* inputs, std::size_t n, const Tensor& output, void* closure,
              const ClosureOps& ops, bool move_closure, std::uint64_t mask);
  // Drops the records (after a non-persistent tape's gradient()); the tape
  // lives on and keeps watching what is still alive.
  void release_records();
  ~TapeStorage() { destroy_record_contents(); }

 private:
  // Destroys what the records keep in the arena (the closures, the inputs).
  void destroy_record_contents();
};

}  // namespace tg::detail
