// Model's training API: compile, fit, train_on_batch, evaluate, predict.
//
// One training step (train_step below), for a batch (x, y, w):
//   outputs = model(x, training=true)          on a fresh GradientTape
//   loss    = training_loss(outputs, y, w)     0-d (a per-sample loss vector is averaged)
//             + sum of model.losses()          (what layers added with add_loss)
//   grads   = tape.sparse_gradient(loss, trainable weights)   (Embedding rows stay row-sparse)
//   optimizer.apply_gradients(grads, trainable weights)       (in place)
// The whole step runs under a NoGradGuard, so a tape the caller has open
// records none of it; the step's own tape, created inside the guard, records.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "tapegrad/autodiff/format.hpp"
#include "tapegrad/autodiff/tape.hpp"
#include "tapegrad/losses.hpp"
#include "tapegrad/models/model.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/optimizers.hpp"

namespace tg {

struct Model::Training {
  std::unique_ptr<optimizers::Optimizer> optimizer;
  TrainingLoss loss;
  std::vector<Metric> metrics;
};

namespace {

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

using detail::describe;
using detail::format_number;

Shape per_sample_shape(const Tensor& t) {
  Shape s = t.shape();
  s.erase(0);
  return s;
}

// Rows [begin, end) of t (a view-free copy).
Tensor rows(const Tensor& t, std::int64_t begin, std::int64_t end) {
  if (begin == 0 && end == t.dim(0)) return t;
  return slice(t, 0, begin, end);
}

// Rows `index` of t.
Tensor rows(const Tensor& t, const Tensor& index) { return gather(t, index); }

// One number per sample (the sample weights): shape (n,) or (n, 1).
void check_per_sample(const char* who, const char* what, const Tensor& t, std::int64_t n) {
  if (!t.defined()) return;
  const bool ok = (t.rank() == 1 && t.dim(0) == n) || (t.rank() == 2 && t.dim(0) == n && t.dim(1) == 1);
  if (!ok)
    throw std::invalid_argument(std::string(who) + ": " + what + " must have one value per sample, shape (" +
                                std::to_string(n) + ",), received " + describe(t));
}

// The loss's sum over the samples seen (for a mean weighted by batch size)
// and each metric's state.
struct Running {
  double loss_sum = 0;
  std::vector<std::unique_ptr<MetricState>> states;
  std::int64_t samples = 0;

  explicit Running(const std::vector<Metric>& metrics) {
    for (const Metric& m : metrics) states.push_back(m.make_state());
  }
  Logs logs(const std::vector<Metric>& metrics, const std::string& prefix = "") const {
    Logs out;
    out[prefix + "loss"] = loss_sum / static_cast<double>(samples);
    for (std::size_t i = 0; i < metrics.size(); ++i) out[prefix + metrics[i].name()] = states[i]->result();
    return out;
  }
};

// Adds this batch to each metric's state (with the batch's sample weights, as Keras).
void add_metrics(Running& running, const std::vector<Metric>& metrics, const Tensor& y,
                 const std::vector<Tensor>& outputs, const Tensor& sample_weight) {
  for (std::size_t i = 0; i < metrics.size(); ++i) running.states[i]->update_state(y, outputs.at(0), sample_weight);
}

// Keras's class_weight_to_sample_weights: one weight per sample from its class.
Tensor class_weights_of(const Tensor& y, const std::map<std::int64_t, double>& class_weight) {
  if (y.rank() > 2)
    throw std::invalid_argument("fit: class_weight needs targets of shape (batch,), (batch, 1) or (batch, classes), "
                                "received " + describe(y));
  const std::int64_t n = y.dim(0);
  const std::vector<double> values = y.to(float64).to_vector<double>();
  const std::int64_t width = y.rank() == 2 ? y.dim(1) : 1;
  std::vector<double> weights(static_cast<std::size_t>(n), 1.0);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t c = 0;
    if (width == 1) {
      c = static_cast<std::int64_t>(std::nearbyint(values[i]));  // numpy.round: half to even
    } else {
      const double* row = values.data() + i * width;
      c = std::max_element(row, row + width) - row;  // the first maximum, as numpy.argmax
    }
    if (auto it = class_weight.find(c); it != class_weight.end()) weights[i] = it->second;
  }
  return Tensor::from_vector(weights, Shape{n});
}

// The number to optimize from what the loss returned: the loss itself when it
// is one number, its mean for a per-sample vector (Reduction::none).
Tensor objective(const Tensor& loss, const std::string& name) {
  if (!loss.defined() || !loss.is_floating() || loss.numel() == 0)
    throw std::invalid_argument("fit: the loss " + name + " returned " + describe(loss) +
                                "; expected a floating 0-d tensor or one value per sample");
  return loss.numel() == 1 ? loss : mean(loss);
}

// Keras's compute_loss: the compiled loss plus the sum of every value the
// model's layers added with add_loss during this forward pass.
Tensor with_added_losses(const Model& model, Tensor loss) {
  for (const Tensor& extra : model.losses()) {
    if (extra.dtype() != loss.dtype())
      throw std::invalid_argument("fit: a loss added with add_loss is " + describe(extra) + ", but the loss is " +
                                  dtype_name(loss.dtype()) + "; add it in the model's dtype");
    loss = loss + sum(extra);
  }
  return loss;
}

}  // namespace

// ---- compile -------------------------------------------------------------------------

void Model::check_outputs(const std::string& loss, const std::vector<Tensor>& outputs, std::size_t expected) {
  if (outputs.size() != expected)
    throw std::invalid_argument(
        loss + ": the loss takes " +
        (expected == 1 ? std::string("the model's single output (y_true, y_pred)")
                       : "two outputs, the embeddings (x1, x2, label)") +
        ", but the model has " + plural(outputs.size(), "output") +
        (expected == 1 ? "; use a pair loss (e.g. ContrastiveLoss) for a model returning two embeddings"
                       : "; a pair loss needs a model whose outputs are the two embeddings"));
}

TrainingLoss Model::contrastive_training_loss(const losses::ContrastiveLoss& loss) {
  // One output: the distance d itself (the classic Keras Siamese model whose
  // last layer is a Lambda computing a distance), losses::contrastive_loss_of_distance.
  // Two outputs: the two embeddings, and the loss computes their distance itself.
  return {loss.name(), [loss](const std::vector<Tensor>& out, const Tensor& y, const Tensor& w) {
            if (out.size() == 2) return loss(out[0], out[1], y, w);
            if (out.size() != 1)
              throw std::invalid_argument("ContrastiveLoss: expects a model with one output (the distance) or two "
                                          "(the embeddings), but the model has " +
                                          plural(out.size(), "output"));
            // A floating output of the wrong shape is refused here, where the message
            // can name the two-output model; the other checks are the loss's.
            const Tensor& d = out[0];
            const bool floating = d.defined() && d.is_floating();
            if (floating && d.rank() != 1 && !(d.rank() == 2 && d.dim(1) == 1))
              throw std::invalid_argument(
                  "ContrastiveLoss: on a one-output model the output is the distance, of shape (batch,) or (batch, "
                  "1), received " +
                  describe(d) + "; a model returning two embeddings needs two outputs");
            return loss.reduce(losses::contrastive_loss_of_distance(y, d, loss.margin()), w);
          }};
}

void Model::compile_with(std::unique_ptr<optimizers::Optimizer> optimizer, TrainingLoss loss,
                         std::vector<Metric> metrics) {
  if (!optimizer) throw std::invalid_argument(name() + ": compile: the optimizer is null");
  if (!loss.fn) throw std::invalid_argument(name() + ": compile: the loss is empty");
  for (std::size_t i = 0; i < metrics.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (metrics[i].name() == metrics[j].name())
        throw std::invalid_argument(name() + ": compile: the metric '" + metrics[i].name() +
                                    "' is listed twice (each metric name is a key of the logs)");
  if (!metrics.empty()) {
    if (functional() && outputs().size() != 1)
      throw std::invalid_argument(name() + ": compile: metrics compare y with the model's output, but the model has " +
                                  plural(outputs().size(), "output") + "; compile it without metrics");
  }
  auto training = std::make_shared<Training>();
  training->optimizer = std::move(optimizer);
  training->loss = std::move(loss);
  training->metrics = std::move(metrics);
  training_ = std::move(training);
}

std::unique_ptr<optimizers::Optimizer> Model::optimizer_from_name(const std::string& optimizer) const {
  if (optimizer == "sgd") return optimizers::SGD().clone();
  if (optimizer == "adam") return optimizers::Adam().clone();
  if (optimizer == "adamw") return optimizers::AdamW().clone();
  if (optimizer == "rmsprop") return optimizers::RMSprop().clone();
  if (optimizer == "adagrad") return optimizers::Adagrad().clone();
  throw std::invalid_argument(name() + ": compile: unknown optimizer '" + optimizer +
                              "' (known: sgd, adam, adamw, rmsprop, adagrad)");
}

TrainingLoss Model::training_loss_from_name(const std::string& loss) const {
  if (loss == "mse" || loss == "mean_squared_error") return make_training_loss(losses::MeanSquaredError());
  if (loss == "mae" || loss == "mean_absolute_error") return make_training_loss(losses::MeanAbsoluteError());
  if (loss == "binary_crossentropy") return make_training_loss(losses::BinaryCrossentropy());
  if (loss == "categorical_crossentropy") return make_training_loss(losses::CategoricalCrossentropy());
  if (loss == "sparse_categorical_crossentropy") return make_training_loss(losses::SparseCategoricalCrossentropy());
  if (loss == "cosine_similarity") return make_training_loss(losses::CosineSimilarity());
  if (loss == "contrastive") return make_training_loss(losses::ContrastiveLoss());
  throw std::invalid_argument(name() + ": compile: unknown loss '" + loss +
                              "' (known: mse, mean_squared_error, mae, mean_absolute_error, binary_crossentropy, "
                              "categorical_crossentropy, sparse_categorical_crossentropy, cosine_similarity, "
                              "contrastive)");
}

bool Model::compiled() const { return training_ && training_->optimizer; }

optimizers::Optimizer& Model::optimizer() {
  if (!compiled())
    throw std::logic_error(name() + ": the model has no optimizer: call model.compile(optimizer, loss) first");
  return *training_->optimizer;
}

std::size_t Model::num_inputs() const {
  if (functional()) return inputs().size();
  return 1;
}

// ---- data checks -----------------------------------------------------------------------

namespace {

// Checks x (and y, w when defined) against the model before anything runs;
// returns the number of samples.
std::int64_t check_data(const Model& model, const std::string& who, const std::vector<Tensor>& x, const Tensor* y,
                        const Tensor& w) {
  const std::size_t expected = model.num_inputs();
  if (x.size() != expected)
    throw std::invalid_argument(who + ": the model '" + model.name() + "' takes " + plural(expected, "input array") +
                                ", received " + std::to_string(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!x[i].defined() || x[i].rank() == 0)
      throw std::invalid_argument(who + ": x[" + std::to_string(i) + "] must have shape (samples, ...), received " +
                                  (x[i].defined() ? "a 0-d tensor" : std::string("an undefined tensor")));
  const std::int64_t n = x[0].dim(0);
  for (std::size_t i = 1; i < x.size(); ++i)
    if (x[i].dim(0) != n)
      throw std::invalid_argument(who + ": the input arrays must have the same number of samples, received x[0] of "
                                  "shape " + x[0].shape().str() + " and x[" + std::to_string(i) + "] of shape " +
                                  x[i].shape().str());
  if (n == 0) throw std::invalid_argument(who + ": x has no samples (shape " + x[0].shape().str() + ")");
  if (model.functional()) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      const SymbolicTensor& spec = model.inputs()[i];
      if (per_sample_shape(x[i]) != spec.shape())
        throw std::invalid_argument(who + ": x[" + std::to_string(i) + "] has shape " + x[i].shape().str() +
                                    ", but the model's input " + std::to_string(i) + " ('" + spec.name() +
                                    "') expects " + detail::batch_shape_str(spec.shape()));
      if (x[i].dtype() != spec.dtype())
        throw std::invalid_argument(who + ": x[" + std::to_string(i) + "] is " + dtype_name(x[i].dtype()) +
                                    ", but the model's input " + std::to_string(i) + " ('" + spec.name() +
                                    "') expects " + dtype_name(spec.dtype()) + " (convert with x.to(tg::" +
                                    dtype_name(spec.dtype()) + "))");
    }
  } else if (const auto* s = dynamic_cast<const Sequential*>(&model);
             s && s->has_input_shape() && per_sample_shape(x[0]) != s->input_shape()) {
    throw std::invalid_argument(who + ": x has shape " + x[0].shape().str() + ", but the model '" + model.name() +
                                "' was built for inputs of shape " + detail::batch_shape_str(s->input_shape()));
  }
  if (y != nullptr) {
    if (!y->defined() || y->rank() == 0)
      throw std::invalid_argument(who + ": y must have one target per sample, shape (" + std::to_string(n) +
                                  ", ...), received " + describe(*y));
    if (y->dim(0) != n)
      throw std::invalid_argument(who + ": y has " + std::to_string(y->dim(0)) + " samples (shape " +
                                  y->shape().str() + "), but x has " + std::to_string(n) + " (x[0] of shape " +
                                  x[0].shape().str() + "); give one target per sample");
  }
  check_per_sample(who.c_str(), "sample_weight", w, n);
  return n;
}

}  // namespace

// ---- one step, evaluation, prediction ------------------------------------------------

namespace {

struct StepResult {
  double loss = 0;
  std::vector<Tensor> outputs;
};

}  // namespace

// Runs one optimizer step; adds the batch's loss and metric values to `running`.
static StepResult train_step(Model& model, optimizers::Optimizer& optimizer, const TrainingLoss& training_loss,
                             const std::vector<Tensor>& x, const Tensor& y, const Tensor& w) {
  NoGradGuard outer;  // tapes the caller has open record nothing of the step
  StepResult result;
  std::vector<Tensor> variables;
  std::vector<Gradient> grads;
  {
    GradientTape tape;
    result.outputs = model.call_all(x, /*training=*/true);
    Tensor loss = with_added_losses(model, objective(training_loss.fn(result.outputs, y, w), training_loss.name));
    // After the forward pass: a model built lazily has its weights only now.
    variables = model.trainable_weights();
    grads = tape.sparse_gradient(loss, variables);
    result.loss = loss.item();
  }
  optimizer.apply_gradients(grads, variables);
  return result;
}

double Model::train_on_batch(const std::vector<Tensor>& x, const Tensor& y, const Tensor& sample_weight) {
  if (!compiled())
    throw std::logic_error(name() + ": train_on_batch: the model must be compiled first: call "
                           "model.compile(optimizer, loss)");
  check_data(*this, "train_on_batch", x, &y, sample_weight);
  auto training = training_;  // keeps the state alive even if a callback recompiles
  return train_step(*this, *training->optimizer, training->loss, x, y, sample_weight).loss;
}

namespace {

// Loss and metrics over (x, y) in inference mode, batch by batch; keys prefixed.
Logs evaluate_batches(Model& model, const TrainingLoss& training_loss, const std::vector<Metric>& metrics,
                      const std::vector<Tensor>& x, const Tensor& y, const Tensor& w, std::int64_t n, int batch_size,
                      const std::string& prefix) {
  NoGradGuard no_grad;
  Running running(metrics);
  for (std::int64_t begin = 0; begin < n; begin += batch_size) {
    const std::int64_t end = std::min<std::int64_t>(n, begin + batch_size);
    std::vector<Tensor> xb;
    for (const Tensor& t : x) xb.push_back(rows(t, begin, end));
    Tensor yb = rows(y, begin, end);
    Tensor wb = w.defined() ? rows(w, begin, end) : Tensor();
    std::vector<Tensor> outputs = model.call_all(xb, /*training=*/false);
    Tensor loss = with_added_losses(model, objective(training_loss.fn(outputs, yb, wb), training_loss.name));
    running.loss_sum += loss.item() * static_cast<double>(end - begin);
    running.samples += end - begin;
    add_metrics(running, metrics, yb, outputs, wb);
  }
  return running.logs(metrics, prefix);
}

void check_batch_size(const std::string& who, int batch_size) {
  if (batch_size < 1)
    throw std::invalid_argument(who + ": batch_size must be >= 1, received " + std::to_string(batch_size));
}

}  // namespace

std::map<std::string, double> Model::evaluate(const std::vector<Tensor>& x, const Tensor& y, int batch_size) {
  if (!compiled())
    throw std::logic_error(name() + ": evaluate: the model must be compiled first: call model.compile(optimizer, loss)");
  check_batch_size("evaluate", batch_size);
  const std::int64_t n = check_data(*this, "evaluate", x, &y, Tensor());
  auto training = training_;
  return evaluate_batches(*this, training->loss, training->metrics, x, y, Tensor(), n, batch_size, "");
}

std::map<std::string, double> Model::evaluate(const Tensor& x, const Tensor& y, int batch_size) {
  return evaluate(std::vector<Tensor>{x}, y, batch_size);
}

std::vector<Tensor> Model::predict_all(const std::vector<Tensor>& x, int batch_size) {
  check_batch_size("predict", batch_size);
  const std::int64_t n = check_data(*this, "predict", x, nullptr, Tensor());
  NoGradGuard no_grad;
  std::vector<std::vector<Tensor>> pieces;  // per output, per batch
  for (std::int64_t begin = 0; begin < n; begin += batch_size) {
    const std::int64_t end = std::min<std::int64_t>(n, begin + batch_size);
    std::vector<Tensor> xb;
    for (const Tensor& t : x) xb.push_back(rows(t, begin, end));
    std::vector<Tensor> outputs = call_all(xb, /*training=*/false);
    if (pieces.empty()) pieces.resize(outputs.size());
    for (std::size_t k = 0; k < outputs.size(); ++k) pieces[k].push_back(outputs[k]);
  }
  std::vector<Tensor> result;
  for (auto& p : pieces) result.push_back(p.size() == 1 ? p[0] : concat(p, 0));
  return result;
}

Tensor Model::predict(const std::vector<Tensor>& x, int batch_size) {
  std::vector<Tensor> outputs = predict_all(x, batch_size);
  if (outputs.size() != 1)
    throw std::invalid_argument(name() + ": predict: the model has " + plural(outputs.size(), "output") +
                                "; use predict_all() to get all of them");
  return outputs[0];
}

Tensor Model::predict(const Tensor& x, int batch_size) { return predict(std::vector<Tensor>{x}, batch_size); }

// ---- fit -------------------------------------------------------------------------------

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  return fit(std::vector<Tensor>{x}, y, options);
}

History Model::fit(const std::vector<Tensor>& x, const Tensor& y, const FitOptions& options) {
  if (!compiled())
    throw std::logic_error(name() + ": fit: the model must be compiled first: call model.compile(optimizer, loss)");
  if (options.epochs < 0)
    throw std::invalid_argument("fit: epochs must be >= 0, received " + std::to_string(options.epochs));
  if (options.steps_per_epoch < 0)
    throw std::invalid_argument("fit: steps_per_epoch must be >= 0 (0: one pass over the data), received " +
                                std::to_string(options.steps_per_epoch));
  if (options.initial_epoch < 0)
    throw std::invalid_argument("fit: initial_epoch must be >= 0, received " + std::to_string(options.initial_epoch));
  if (!options.class_weight.empty() && options.sample_weight.defined())
    throw std::invalid_argument("fit: class_weight and sample_weight cannot be given together (as Keras); fold the "
                                "class weights into sample_weight");
  for (const auto& [c, weight] : options.class_weight)
    if (!std::isfinite(weight) || weight < 0)
      throw std::invalid_argument("fit: class_weight[" + std::to_string(c) + "] must be a finite number >= 0, "
                                  "received " + format_number(weight));
  check_batch_size("fit", options.batch_size);
  if (!(options.validation_split >= 0.0 && options.validation_split < 1.0))
    throw std::invalid_argument("fit: validation_split must be in [0, 1), received " +
                                format_number(options.validation_split));
  const std::int64_t n = check_data(*this, "fit", x, &y, options.sample_weight);

  // The data: training part and validation part (Keras: the last fraction,
  // before shuffling, or explicit validation data).
  std::vector<Tensor> train_x = x, val_x;
  Tensor train_y = y, val_y, train_w = options.sample_weight, val_w;
  std::int64_t train_n = n, val_n = 0;
  if (!options.validation_x.empty() || options.validation_y.defined()) {
    if (options.validation_x.empty() || !options.validation_y.defined())
      throw std::invalid_argument("fit: validation data needs both validation_x and validation_y");
    val_n = check_data(*this, "fit: validation_data (validation_x, validation_y)", options.validation_x,
                       &options.validation_y, Tensor());
    // Each validation sample is run and scored as a training sample is: same
    // per-sample shapes (and input dtypes) as x and y. Checked now, since the
    // first validation pass comes after a whole epoch of training, and its
    // failure (a loss's shape message) would not say it is about validation data.
    for (std::size_t i = 0; i < x.size(); ++i)
      if (per_sample_shape(options.validation_x[i]) != per_sample_shape(x[i]) ||
          options.validation_x[i].dtype() != x[i].dtype())
        throw std::invalid_argument("fit: validation_data: validation_x[" + std::to_string(i) + "] is " +
                                    describe(options.validation_x[i]) + ", but x[" + std::to_string(i) + "] is " +
                                    describe(x[i]) + "; validation_x[" + std::to_string(i) + "] must be " +
                                    detail::batch_shape_str(per_sample_shape(x[i])) + " " + dtype_name(x[i].dtype()) +
                                    ", as x[" + std::to_string(i) + "]");
    if (per_sample_shape(options.validation_y) != per_sample_shape(y))
      throw std::invalid_argument("fit: validation_data: validation_y has shape " +
                                  options.validation_y.shape().str() + ", but y has shape " + y.shape().str() +
                                  "; validation_y must have shape " + detail::batch_shape_str(per_sample_shape(y)) +
                                  ", as y");
    val_x = options.validation_x;
    val_y = options.validation_y;
  } else if (options.validation_split > 0.0) {
    const auto split_at = static_cast<std::int64_t>(std::floor(static_cast<double>(n) * (1.0 - options.validation_split)));
    if (split_at <= 0 || split_at >= n)
      throw std::invalid_argument("fit: validation_split " + format_number(options.validation_split) + " of " +
                                  std::to_string(n) + " samples leaves " +
                                  (split_at <= 0 ? "no training sample" : "no validation sample"));
    train_x.clear();
    for (const Tensor& t : x) {
      train_x.push_back(rows(t, 0, split_at));
      val_x.push_back(rows(t, split_at, n));
    }
    train_y = rows(y, 0, split_at);
    val_y = rows(y, split_at, n);
    if (options.sample_weight.defined()) {
      train_w = rows(options.sample_weight, 0, split_at);
      val_w = rows(options.sample_weight, split_at, n);
    }
    train_n = split_at;
    val_n = n - split_at;
  }

  if (!options.class_weight.empty()) train_w = class_weights_of(train_y, options.class_weight);

  auto training = training_;  // the state this fit uses, even if a callback recompiles
  const std::vector<Metric>& metrics = training->metrics;
  // One pass over the training data is num_batches batches. With
  // steps_per_epoch an epoch is that many steps and the pass carries on into
  // the next epoch (Keras 3's EpochIterator keeps its iterator); a new,
  // reshuffled pass starts once one is used up, and an epoch that runs out of
  // batches first ends there, with Keras's warning.
  const std::int64_t num_batches = (train_n + options.batch_size - 1) / options.batch_size;
  const std::int64_t steps = options.steps_per_epoch > 0 ? options.steps_per_epoch : num_batches;

  std::vector<std::shared_ptr<callbacks::Callback>> cbs;
  if (options.verbose > 0)
    cbs.push_back(std::make_shared<callbacks::ProgressBar>(std::cout, options.verbose, options.epochs, steps));
  for (const auto& cb : options.callbacks) {
    if (!cb) throw std::invalid_argument("fit: a callback is null");
    cbs.push_back(cb);
  }
  const callbacks::TrainingParams params{options.epochs, steps, options.verbose};
  for (const auto& cb : cbs) {
    cb->set_model(this);
    cb->set_params(params);
  }

  stop_training = false;
  History history;
  Generator generator(options.seed);
  std::vector<std::int64_t> order(static_cast<std::size_t>(train_n));
  Logs last_logs;
  try {
    for (const auto& cb : cbs) cb->on_train_begin({});
    std::int64_t next_batch = num_batches;  // in the current pass: none yet
    for (int epoch = options.initial_epoch; epoch < options.epochs; ++epoch) {
      for (const auto& cb : cbs) cb->on_epoch_begin(epoch, {});
      if (options.steps_per_epoch == 0 || next_batch >= num_batches) {
        std::iota(order.begin(), order.end(), std::int64_t{0});
        if (options.shuffle)  // Fisher-Yates
          for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[generator.below(i)]);
        next_batch = 0;
      }
      Running running(metrics);
      for (std::int64_t step_in_epoch = 0; step_in_epoch < steps; ++step_in_epoch) {
        if (next_batch >= num_batches) {
          std::cerr << "fit: your input ran out of data at step " << step_in_epoch << " of epoch " << epoch + 1
                    << " (steps_per_epoch " << steps << ", " << num_batches
                    << " batches a pass); the epoch ends here and the next one starts a new pass\n";
          break;
        }
        const std::int64_t batch = next_batch++;
        const std::int64_t begin = batch * options.batch_size;
        const std::int64_t end = std::min<std::int64_t>(train_n, begin + options.batch_size);
        Tensor index = Tensor::from_vector(
            std::vector<std::int64_t>(order.begin() + begin, order.begin() + end), Shape{end - begin});
        std::vector<Tensor> xb;
        for (const Tensor& t : train_x) xb.push_back(rows(t, index));
        Tensor yb = rows(train_y, index);
        Tensor wb = train_w.defined() ? rows(train_w, index) : Tensor();
        for (const auto& cb : cbs) cb->on_train_batch_begin(static_cast<int>(step_in_epoch), {});
        StepResult step = train_step(*this, *training->optimizer, training->loss, xb, yb, wb);
        running.loss_sum += step.loss * static_cast<double>(end - begin);
        running.samples += end - begin;
        {
          NoGradGuard no_grad;
          add_metrics(running, metrics, yb, step.outputs, wb);
        }
        const Logs batch_logs = running.logs(metrics);
        for (const auto& cb : cbs) cb->on_train_batch_end(static_cast<int>(step_in_epoch), batch_logs);
        if (stop_training) break;
      }
      Logs logs = running.samples > 0 ? running.logs(metrics) : Logs{};
      if (val_n > 0) {
        const Logs val = evaluate_batches(*this, training->loss, metrics, val_x, val_y, val_w, val_n,
                                          options.batch_size, "val_");
        logs.insert(val.begin(), val.end());
      }
      for (const auto& [key, value] : logs) history.history[key].push_back(value);
      last_logs = logs;
      for (const auto& cb : cbs) cb->on_epoch_end(epoch, logs);
      if (stop_training) break;
    }
  } catch (...) {
    // As a `finally`: callbacks close their files and EarlyStopping restores its
    // best weights; then the error propagates. Their own errors here are dropped
    // (the first error is the one to report).
    for (const auto& cb : cbs) {
      try {
        cb->on_train_end(last_logs);
      } catch (...) {
      }
    }
    throw;
  }
  for (const auto& cb : cbs) cb->on_train_end(last_logs);
  return history;
}

}  // namespace tg
