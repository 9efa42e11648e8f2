// Models: a graph of layers (functional Model) or a stack (Sequential), with
// Keras's training API.
//
//   auto input_a = tg::Input({64}), input_b = tg::Input({64});
//   auto base = tg::Sequential::make({tg::layers::Dense::make(128, "relu"), tg::layers::Dense::make(32)});
//   auto distance = tg::layers::Lambda::make(cosine_distance, {1})({base(input_a), base(input_b)});
//   auto model = tg::Model::make({input_a, input_b}, distance);
//   model->compile(tg::optimizers::Adam(1e-3), tg::losses::ContrastiveLoss(1.0));
//   auto history = model->fit({xa, xb}, y, {.epochs = 10, .batch_size = 128, .validation_split = 0.1});
//
// A model is a layer (a tg::Ref<Model> from make, like any layer): it can be
// called on tensors or symbolic tensors and nested in other models; calling
// one layer object at several nodes shares its weights (the Siamese pattern
// above).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/layers/layer.hpp"
#include "tapegrad/losses/loss.hpp"
#include "tapegrad/losses/metric_learning.hpp"
#include "tapegrad/models/callbacks.hpp"
#include "tapegrad/models/metrics.hpp"
#include "tapegrad/optimizers/optimizer.hpp"

namespace tg {

struct FitOptions {
  int epochs = 1;
  int batch_size = 32;
  // The last fraction of the samples (before shuffling) held out for validation, as Keras.
  double validation_split = 0.0;
  // Explicit validation data (used instead of validation_split when given).
  std::vector<Tensor> validation_x;
  Tensor validation_y;
  bool shuffle = true;
  std::uint64_t seed = 0;  // of the shuffling
  // 0: silent; 1: a progress bar per epoch (one line per epoch when not a terminal); 2: one line per epoch.
  int verbose = 1;
  std::vector<std::shared_ptr<callbacks::Callback>> callbacks;
  // Per-sample weights (batch,), passed to the loss.
  Tensor sample_weight;
  // Keras's class_weight: a training sample of class c weighs class_weight[c]
  // in the loss (1 for a class not listed). The class of a sample is y itself
  // for (batch,) or (batch, 1) targets (rounded: 0.7 is class 1, as Keras),
  // argmax over the last axis for one-hot (batch, classes). Not with
  // sample_weight (an error, as Keras), not for validation data.
  std::map<std::int64_t, double> class_weight;
  // Keras's initial_epoch: the epoch to start at (0-based), so a resumed fit
  // runs epochs initial_epoch .. epochs - 1, numbered as if never interrupted.
  int initial_epoch = 0;
  // Keras's steps_per_epoch: batches per epoch (0: one pass over the data).
  // The pass over the (shuffled) data carries on across epochs and restarts,
  // reshuffled, once used up; an epoch that runs out of batches ends early,
  // with a warning on std::cerr (Keras 3's EpochIterator).
  std::int64_t steps_per_epoch = 0;
};

// What compile() stores of a loss: the per-batch training objective computed
// from the model's outputs and the targets.
struct TrainingLoss {
  std::string name;
  std::function<Tensor(const std::vector<Tensor>& outputs, const Tensor& y_true, const Tensor& sample_weight)> fn;
};

class Model : public Layer {
 public:
  // A functional model from the graph between `inputs` and `outputs`.
  Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
        const std::string& name = "");
  Model(const std::vector<SymbolicTensor>& inputs, const SymbolicTensor& output, const std::string& name = "");
  Model(const SymbolicTensor& input, const SymbolicTensor& output, const std::string& name = "");
  static Ref<Model> make(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
                         const std::string& name = "") {
    return make_layer<Model>(inputs, outputs, name);
  }
  static Ref<Model> make(const std::vector<SymbolicTensor>& inputs, const SymbolicTensor& output,
                         const std::string& name = "") {
    return make_layer<Model>(inputs, output, name);
  }
  static Ref<Model> make(const SymbolicTensor& input, const SymbolicTensor& output, const std::string& name = "") {
    return make_layer<Model>(input, output, name);
  }

  // The graph: the functional model runs its nodes in order (Sequential overrides these).
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override;
  std::vector<std::shared_ptr<Layer>> sublayers() const override;
  int min_inputs() const override { return static_cast<int>(inputs_.size()); }
  int max_inputs() const override { return static_cast<int>(inputs_.size()); }

  // ---- training -----------------------------------------------------------------
  // The loss compares the targets y with the model's output: a target-style loss
  // (y_true, y_pred) for a one-output model; a pair loss (x1, x2, label) for a
  // model with two outputs (the two embeddings); ContrastiveLoss also accepts a
  // one-output model whose output is the distance itself (the classic Keras
  // Siamese example), computing 0.5 * (y d^2 + (1 - y) max(margin - d, 0)^2).
  //
  // Each of the optimizer and the loss is an object (tg::optimizers::Adam(1e-3),
  // tg::losses::ContrastiveLoss(1.0)) or a name with default hyperparameters:
  // optimizers "sgd", "adam", "adamw", "rmsprop", "adagrad"; losses "mse" /
  // "mean_squared_error", "mae" / "mean_absolute_error", "binary_crossentropy",
  // "categorical_crossentropy", "sparse_categorical_crossentropy",
  // "cosine_similarity" (Keras's: the negative cosine), "contrastive"
  // (ContrastiveLoss()). Unknown names throw, listing the known ones. The loss
  // may also be a plain function or lambda (y_true, y_pred) -> Tensor, wrapped
  // as Keras does (losses::LossFunctionWrapper, named "loss_function"; wrap it
  // yourself to name it). Every (y_true, y_pred) loss and every metric sees
  // y_true and y_pred brought to one rank first (Keras's
  // squeeze_or_expand_to_same_rank): a (batch,) y_true against a (batch, 1)
  // output is (batch, 1). The model
  // keeps a clone of the optimizer (fresh state): reach it with optimizer().
  // Metrics (names or tg::Metric objects) need a one-output model.
  // Compiling again replaces the optimizer (and its state), loss and metrics.
  template <class O, class L>
    requires((std::is_base_of_v<optimizers::Optimizer, O> || std::is_convertible_v<const O&, std::string>) &&
             (std::is_base_of_v<losses::LossBase, L> || std::is_convertible_v<const L&, std::string> ||
              std::is_invocable_r_v<Tensor, const L&, const Tensor&, const Tensor&>))
  void compile(const O& optimizer, const L& loss, std::vector<Metric> metrics = {}) {
    std::unique_ptr<optimizers::Optimizer> opt;
    if constexpr (std::is_convertible_v<const O&, std::string>) opt = optimizer_from_name(optimizer);
    else opt = optimizer.clone();
    TrainingLoss training_loss;
    if constexpr (std::is_convertible_v<const L&, std::string>) training_loss = training_loss_from_name(loss);
    else if constexpr (std::is_base_of_v<losses::LossBase, L>) training_loss = make_training_loss(loss);
    else training_loss = make_training_loss(losses::LossFunctionWrapper(loss));
    compile_with(std::move(opt), std::move(training_loss), std::move(metrics));
  }
  bool compiled() const;

  // Trains for options.epochs epochs over (x, y): x holds one array per model
  // input, all with the same number of samples (first axis), and y one target
  // (or pair label) per sample. Per batch: a forward pass in training mode on
  // a GradientTape, the loss, row-sparse-aware gradients of the trainable
  // weights, one optimizer step. Each epoch's samples are shuffled with a
  // Generator seeded by options.seed (deterministic). The epoch's "loss" and
  // metrics are means over its samples (each batch weighted by its size);
  // validation values ("val_loss", "val_<metric>") are computed at the end of
  // the epoch in inference mode. An exception leaves the model usable: the
  // weights are those of the last completed step.
  History fit(const std::vector<Tensor>& x, const Tensor& y, const FitOptions& options = {});
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // Loss and metrics over (x, y) in inference mode: {"loss": ..., "binary_accuracy": ...}.
  std::map<std::string, double> evaluate(const std::vector<Tensor>& x, const Tensor& y, int batch_size = 32);
  std::map<std::string, double> evaluate(const Tensor& x, const Tensor& y, int batch_size = 32);
  // Outputs in inference mode, computed batch by batch (nothing recorded).
  std::vector<Tensor> predict_all(const std::vector<Tensor>& x, int batch_size = 32);
  Tensor predict(const std::vector<Tensor>& x, int batch_size = 32);
  Tensor predict(const Tensor& x, int batch_size = 32);
  // One optimizer step on one batch; returns the loss. What fit() runs per batch.
  double train_on_batch(const std::vector<Tensor>& x, const Tensor& y, const Tensor& sample_weight = Tensor());

  optimizers::Optimizer& optimizer();
  // Set by callbacks (EarlyStopping, TerminateOnNaN) to end fit() after the current batch/epoch.
  bool stop_training = false;

  // ---- inspection and persistence ---------------------------------------------
  const std::vector<SymbolicTensor>& inputs() const;
  const std::vector<SymbolicTensor>& outputs() const;
  // The layer calls between inputs and outputs, each after the calls it reads
  // from (empty for a Sequential).
  const std::vector<std::shared_ptr<LayerNode>>& nodes() const { return nodes_; }
  // The layers, in the order they are run (each once).
  std::vector<Ref<Layer>> layers() const;
  Ref<Layer> get_layer(const std::string& name) const;
  // Keras's table: layer (name and type), output shape, parameters, connected to;
  // totals (models/summary.cpp shows an example). summary() prints it to std::cout.
  void summary(std::ostream& os) const;
  void summary() const;
  std::string summary_string() const;
  std::int64_t count_params() const;
  // The model's weights (weights() order) under their unique names: a weight is
  // named "<layer>/<weight>" ("dense/kernel"); when two weights share a name
  // (layers given the same name by hand), the later ones get "_1", "_2", ...
  // appended to the whole name ("dense/kernel_1"), the first free one, in
  // weights() order. These are the keys of save_weights' file.
  std::vector<std::pair<std::string, Tensor>> named_weights() const;
  // One array per weight, keyed by its unique name (named_weights()), in a
  // .npz file numpy reads. Saving is atomic (tg::io::save_npz); loading checks
  // every name, shape and dtype before changing anything, and on any error
  // (missing, extra or mismatching array, unreadable file) leaves the model as
  // it was and says which weight is wrong. Loaded values are assigned in place:
  // the weight tensors keep their identity (optimizer state stays attached).
  void save_weights(const std::string& path) const;
  void load_weights(const std::string& path);
  // Whether this is a functional model (made from inputs and outputs), not a Sequential.
  bool functional() const { return !inputs_.empty(); }
  // How many input arrays the model takes (1 for a Sequential).
  std::size_t num_inputs() const;

 protected:
  // A model that is not a graph of nodes (Sequential): no inputs, no outputs.
  Model(std::string class_name, std::string name);

 private:
  template <class L>
  static TrainingLoss make_training_loss(const L& loss) {
    if constexpr (std::is_base_of_v<losses::ContrastiveLoss, L>) {
      return contrastive_training_loss(loss);
    } else if constexpr (std::is_base_of_v<losses::Loss, L>) {
      return {loss.name(), [loss](const std::vector<Tensor>& out, const Tensor& y, const Tensor& w) {
                check_outputs(loss.name(), out, 1);
                return loss(y, out[0], w);
              }};
    } else if constexpr (std::is_base_of_v<losses::PairLoss, L>) {
      return {loss.name(), [loss](const std::vector<Tensor>& out, const Tensor& y, const Tensor& w) {
                check_outputs(loss.name(), out, 2);
                return loss(out[0], out[1], y, w);
              }};
    } else {
      static_assert(std::is_base_of_v<losses::Loss, L>, "compile: the loss must be a tg::losses class");
    }
  }
  static TrainingLoss contrastive_training_loss(const losses::ContrastiveLoss& loss);
  std::unique_ptr<optimizers::Optimizer> optimizer_from_name(const std::string& name) const;
  TrainingLoss training_loss_from_name(const std::string& name) const;
  static void check_outputs(const std::string& loss, const std::vector<Tensor>& outputs, std::size_t expected);
  void compile_with(std::unique_ptr<optimizers::Optimizer> optimizer, TrainingLoss loss, std::vector<Metric> metrics);

  std::vector<SymbolicTensor> inputs_, outputs_;
  std::vector<std::shared_ptr<LayerNode>> nodes_;

  struct Training;
  std::shared_ptr<Training> training_;
};

// A plain stack of layers, each taking the previous one's output, built on its
// first call.
class Sequential : public Model {
 public:
  explicit Sequential(std::vector<Ref<Layer>> layers = {}, const std::string& name = "");
  static Ref<Sequential> make(std::vector<Ref<Layer>> layers = {}, const std::string& name = "") {
    return make_layer<Sequential>(std::move(layers), name);
  }
  void add(const Ref<Layer>& layer);
  // The per-sample input shape seen at the first call (has_input_shape() is
  // false before), and the dtype of the last call's input.
  bool has_input_shape() const { return has_input_shape_; }
  const Shape& input_shape() const { return input_shape_; }
  DType last_input_dtype() const { return last_input_dtype_; }

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, bool training) override;
  std::vector<std::pair<Shape, DType>> compute_output_spec(const std::vector<SymbolicTensor>& inputs) override;
  std::vector<std::shared_ptr<Layer>> sublayers() const override;
  int min_inputs() const override { return 1; }
  int max_inputs() const override { return 1; }

 private:
  std::vector<Ref<Layer>> layers_;
  bool has_input_shape_ = false;
  Shape input_shape_;
  DType last_input_dtype_ = DType::float32;
};

}  // namespace tg
