// The tape's algorithm: recording an op, the backward walk, and accumulation
// through the differentiable add of detail::gradient_algebra(). Where records
// live, which tensors a tape watches and which tapes are alive is storage
// (tape_storage.hpp); printing is in tape_print.cpp.
#include "tapegrad/autodiff/tape.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

#include "identity_map.hpp"
#include "tape_storage.hpp"
#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/gradient_algebra.hpp"

namespace tg {

namespace {

// True if some active, unpaused tape watches t, so that an op on t would be
// recorded (the rule of record_op).
bool watched_by_recording_tape(const Tensor& t) {
  for (GradientTape* tape : detail::live_tapes)
    if (tape->records_now() && tape->is_watched(t)) return true;
  return false;
}

// x += y elementwise, for tensors of one shape and dtype.
void add_in_place(Tensor& x, const Tensor& y) {
  const std::int64_t n = x.numel();
  if (x.dtype() == DType::float32) {
    float* __restrict p = x.data<float>();
    const float* __restrict q = y.data<float>();
    for (std::int64_t i = 0; i < n; ++i) p[i] += q[i];
  } else {
    double* __restrict p = x.data<double>();
    const double* __restrict q = y.data<double>();
    for (std::int64_t i = 0; i < n; ++i) p[i] += q[i];
  }
}

// Sum of the gradients reaching one tensor. Dense parts are added as they come
// with the differentiable add of detail::gradient_algebra(), so an outer tape
// sees the accumulation; when no tape would record that add and the running
// sum is a tensor made here (no one else holds it), it is updated in place
// instead, saving a tensor per contribution. Sparse parts are kept as a list
// and concatenated once at the end.
struct Accumulator {
  Tensor dense;
  bool owned = false;  // dense was created by this accumulator and handed to no one
  bool keep = false;   // a source's: kept until the end of gradient()
  std::vector<Tensor> indices, values;
  Shape sparse_shape;

  void add(Gradient g) {
    if (g.is_sparse()) {
      indices.push_back(g.indices());
      values.push_back(g.values());
      sparse_shape = g.shape();
      return;
    }
    Tensor d = g.dense();
    if (!dense.defined()) {
      dense = std::move(d);
      owned = false;  // it may be shared (a backward can pass its upstream gradient through)
    } else if (owned && dense.id() != d.id() && !(is_recording() && (watched_by_recording_tape(dense) || watched_by_recording_tape(d)))) {
      add_in_place(dense, d);
    } else {
      dense = detail::gradient_algebra().add(dense, d);
      owned = true;
    }
  }
  bool defined() const { return dense.defined() || !indices.empty(); }
  Gradient sparse() const {
    if (indices.empty()) return dense;
    const detail::GradientAlgebra& algebra = detail::gradient_algebra();
    Tensor idx = indices.size() == 1 ? indices[0] : algebra.concat_rows(indices);
    Tensor val = values.size() == 1 ? values[0] : algebra.concat_rows(values);
    Gradient rows = Gradient::rows(idx, val, sparse_shape);
    if (!dense.defined()) return rows;
    return algebra.add(dense, rows.dense());
  }
  // The dense sum, handed out: from now on someone else may hold it.
  Tensor take_dense() {
    owned = false;
    if (indices.empty()) return dense;
    return sparse().dense();
  }
};

// The accumulators of one gradient() call, found by tensor identity.
using GradientMap = detail::IdentityMap<Accumulator>;

// BackwardContext's sink during gradient(): adds straight into the input's accumulator.
void accumulate_into(void* map, const Tensor& input, Gradient&& g) {
  static_cast<GradientMap*>(map)->get(input.impl().get()).add(std::move(g));
}

using detail::describe;

// A backward reads the values its op saw (x for the gradient of x * y, the
// output for exp): if one of the record's tensors was written in place since
// (Tensor::version moved on), the gradient would silently use the new values.
// PyTorch raises here too; TensorFlow would need a copy of every input.
void check_unmodified(const detail::TapeRecord& r, std::size_t k, const std::string& fn) {
  for (std::size_t i = 0; i <= r.input_count; ++i) {
    const Tensor& t = i < r.input_count ? r.inputs[i] : r.output;
    if (!t.defined()) continue;
    const std::uint64_t now = t.impl()->version_counter();
    if (now == r.versions[i]) continue;
    const std::string which = i < r.input_count ? "input " + std::to_string(i) : std::string("output");
    const std::string what = (t.name().empty() ? "" : "'" + t.name() + "', ") + describe(t);
    throw std::logic_error(fn + ": the backward of '" + r.op + "' (op #" + std::to_string(k) +
                           ") would read new values: its " + which + " (" + what +
                           ") was modified in place after the op was recorded (version " +
                           std::to_string(r.versions[i]) + " then, " + std::to_string(now) +
                           " now: an assign(), set() or optimizer step in between); compute the forward pass "
                           "again after modifying it, or modify a clone()");
  }
}

}  // namespace

// ---- recording ---------------------------------------------------------------

namespace {

// The mask of inputs `tape` watches (bit i: input i; inputs past the 64th
// count as needed, see BackwardContext::needs), and whether it watches any.
std::uint64_t watch_mask(const GradientTape& tape, const Tensor* inputs, std::size_t n, bool& any) {
  std::uint64_t mask = 0;
  any = false;
  for (std::size_t i = 0; i < n; ++i) {
    const Tensor& in = inputs[i];
    if (!in.defined() || !in.is_floating()) continue;
    if (tape.is_watched(in)) {
      any = true;
      if (i < 64) mask |= std::uint64_t{1} << i;
    }
  }
  return mask;
}

}  // namespace

void record_op(const char* name, std::initializer_list<Tensor> inputs, const Tensor& output,
               BackwardFunction backward) {
  if (!is_recording()) return;
  detail::record_closure(name, inputs.begin(), inputs.size(), output, &backward,
                         detail::closure_ops<BackwardFunction>);
}

void record_op(const char* name, std::vector<Tensor> inputs, const Tensor& output, BackwardFunction backward) {
  if (!is_recording()) return;
  detail::record_closure(name, inputs.data(), inputs.size(), output, &backward,
                         detail::closure_ops<BackwardFunction>);
}

namespace detail {

void record_closure(const char* name, const Tensor* inputs, std::size_t n, const Tensor& output, void* closure,
                    const ClosureOps& ops) {
  if (!is_recording()) return;
  if (!ops.invoke) return;
  // The tapes that record this op and their masks; usually one.
  constexpr std::size_t kInline = 8;
  std::pair<GradientTape*, std::uint64_t> inline_hits[kInline];
  std::vector<std::pair<GradientTape*, std::uint64_t>> more_hits;
  std::size_t hits = 0;
  for (GradientTape* tape : live_tapes) {
    if (!tape->records_now()) continue;
    bool any;
    std::uint64_t mask = watch_mask(*tape, inputs, n, any);
    if (!any) continue;
    if (hits < kInline) inline_hits[hits] = {tape, mask};
    else more_hits.emplace_back(tape, mask);
    ++hits;
  }
  if (hits == 0) return;
  if (!output.defined())
    throw std::logic_error(std::string("record_op: op '") + name + "' recorded an undefined output");
  detail::TensorImpl* out = output.impl().get();
  for (std::size_t i = 0; i < n; ++i)
    if (inputs[i].impl().get() == out)
      throw std::logic_error(std::string("record_op: op '") + name +
                             "' returned one of its inputs; an op must return a new tensor");
  for (std::size_t h = 0; h < hits; ++h) {
    auto [tape, mask] = h < kInline ? inline_hits[h] : more_hits[h - kInline];
    tape->storage_->append(name, inputs, n, output, closure, ops, /*move_closure=*/h + 1 == hits, mask);
  }
}

}  // namespace detail

void mark_not_differentiable(const char* op, std::initializer_list<Tensor> computed_from, const Tensor& gradient) {
  if (!is_recording()) return;
  std::string name = op;
  record_op("not_differentiable", computed_from, gradient, [name](const Tensor&, BackwardContext&) {
    throw std::logic_error(name + ": its backward is computed without differentiable ops, so it has no higher "
                                  "derivative; a nested tape asked for one through it");
  });
}

void GradientTape::watch(const Tensor& tensor) {
  if (!tensor.defined()) throw std::invalid_argument("GradientTape::watch: the tensor is undefined");
  if (!tensor.is_floating())
    throw std::invalid_argument(std::string("GradientTape::watch: only floating tensors can be watched, received ") +
                                describe(tensor));
  storage_->watched.push_back(tensor);
  storage_->watching.insert_held(tensor.impl().get());
}

void GradientTape::watch(const std::vector<Tensor>& tensors) {
  for (const Tensor& t : tensors) watch(t);
}

bool GradientTape::is_watched(const Tensor& tensor) const {
  const detail::TensorImpl& impl = *tensor.impl();
  return (impl.trainable && watch_accessed_variables_) || storage_->watching.contains(&impl);
}

std::vector<Tensor> GradientTape::gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                           const Tensor& output_gradient) {
  std::vector<Gradient> grads = run_backward(target, sources, output_gradient, "GradientTape::gradient");
  std::vector<Tensor> dense;
  dense.reserve(grads.size());
  for (const Gradient& g : grads) dense.push_back(g.dense());
  return dense;
}

std::vector<Gradient> GradientTape::sparse_gradient(const Tensor& target, const std::vector<Tensor>& sources,
                                                    const Tensor& output_gradient) {
  return run_backward(target, sources, output_gradient, "GradientTape::sparse_gradient");
}

std::vector<Gradient> GradientTape::run_backward(const Tensor& target, const std::vector<Tensor>& sources,
                                                 const Tensor& output_gradient, const char* caller) {
  const std::string fn = caller;
  if (used_ && !persistent_)
    throw std::logic_error(fn + ": this tape has already computed a gradient; construct it as "
                                "GradientTape(/*persistent=*/true) to call gradient() more than once");
  if (!target.defined()) throw std::invalid_argument(fn + ": the target is undefined");
  if (!target.is_floating())
    throw std::invalid_argument(fn + ": the target must be a floating tensor, received " + describe(target));
  for (std::size_t i = 0; i < sources.size(); ++i)
    if (!sources[i].defined() || !sources[i].is_floating())
      throw std::invalid_argument(fn + ": source " + std::to_string(i) + " must be a floating tensor, received " +
                                  describe(sources[i]));
  // A source this tape knows nothing of (not watched, not made by a recorded
  // op) would get a zero gradient indistinguishable from a true zero: the
  // classic forgotten tape.watch(x). TensorFlow returns None; here it is an error.
  // The records are scanned only when a source is not watched (weights and
  // watched tensors, the usual sources, cost nothing here).
  {
    std::unordered_set<const detail::TensorImpl*> made;
    bool scanned = false;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const detail::TensorImpl* impl = sources[i].impl().get();
      if (is_watched(sources[i]) || impl == target.impl().get()) continue;
      if (!scanned) {
        for (const detail::TapeRecord& r : storage_->records) made.insert(r.output.impl().get());
        scanned = true;
      }
      if (!made.count(impl))
        throw std::invalid_argument(fn + ": source " + std::to_string(i) + " (" + describe(sources[i]) +
                                    ") is not watched by this tape and no op it recorded produced it, so its "
                                    "gradient would be a silent zero; call tape.watch(x) before computing the "
                                    "target (trainable weights are watched automatically)");
    }
  }
  Tensor seed = output_gradient;
  if (seed.defined()) {
    if (seed.shape() != target.shape() || seed.dtype() != target.dtype())
      throw std::invalid_argument(fn + ": output_gradient must match the target, " + describe(target) +
                                  ", received " + describe(seed));
  } else {
    seed = ones_like(target);
  }
  used_ = true;

  // The tape must not record its own gradient computation (outer tapes may).
  // newest_tape_serial then names the newest *unpaused* tape, so is_recording()
  // tells a fused op whether its backward will itself be recorded (and so must
  // be written with differentiable ops) or can run a plain kernel.
  struct Pause {
    bool& flag;
    bool saved;
    std::uint64_t saved_newest = detail::newest_tape_serial;
    explicit Pause(bool& f) : flag(f), saved(f) {
      flag = true;
      detail::newest_tape_serial = 0;
      for (GradientTape* t : detail::live_tapes)
        if (!t->paused_) detail::newest_tape_serial = std::max(detail::newest_tape_serial, t->serial_);
    }
    ~Pause() {
      flag = saved;
      detail::newest_tape_serial = saved_newest;
    }
  } pause(paused_);

  // Sources keep their gradient when their own record is reached (a source
  // may be an intermediate tensor); other gradients are released once used.
  std::vector<detail::TapeRecord>& records = storage_->records;
  GradientMap grads(records.size() + sources.size() + 1);
  for (const Tensor& src : sources) grads.get(src.impl().get()).keep = true;
  grads.get(target.impl().get()).add(seed);

  for (std::size_t k = records.size(); k-- > 0;) {
    detail::TapeRecord& r = records[k];
    const detail::TensorImpl* out = r.output.impl().get();
    Accumulator* acc = grads.find(out);
    if (!acc || !acc->defined()) continue;
    check_unmodified(r, k, fn);
    Tensor g = acc->take_dense();
    if (!persistent_ && !acc->keep) *acc = Accumulator();
    BackwardContext ctx(r.inputs, r.input_count, r.needs_mask, accumulate_into, &grads);
    try {
      r.closure_ops->invoke(r.closure, g, ctx);
    } catch (const std::logic_error& e) {
      throw std::logic_error(fn + ": in the backward of '" + r.op + "': " + e.what());
    }
    unneeded_gradients_ += ctx.unneeded();
  }

  std::vector<Gradient> result;
  result.reserve(sources.size());
  for (const Tensor& s : sources) {
    Accumulator* acc = grads.find(s.impl().get());
    result.push_back(acc && acc->defined() ? acc->sparse() : Gradient(zeros_like(s)));
  }
  if (!persistent_) storage_->release_records();
  return result;
}

Tensor stop_gradient(const Tensor& x) {
  if (!x.defined()) throw std::invalid_argument("stop_gradient: received an undefined tensor");
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->shape = x.shape();
  impl->dtype = x.dtype();
  impl->data = x.raw_data();
  impl->storage = x.impl()->storage;
  impl->viewed = x.impl()->viewed ? x.impl()->viewed : x.impl();  // writes to either are seen by both
  return Tensor(std::move(impl));
}

}  // namespace tg
